// The same release build against a backend that speaks ONLY the legacy contract (a fake of it, in
// support/legacy-backend.mjs): an absolute, cross-origin host with a stage path, email-only login
// with no token, a basket of distinct products keyed by the user's uuid, empty or JSON-string 200
// answers, `null` for no basket, no orders. The legacy journeys, in every engine: browse, sign up, log
// in, add, cart count, remove, reload, and the cart page saying why checkout is not offered.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startLegacyBackend } from './support/legacy-backend.mjs';
import { signUp } from './support/shopper.mjs';
import { launchBrowser, pageErrors, startSite } from './support/stack.mjs';

let legacy;
let site;
let browser;

before(async () => {
  legacy = await startLegacyBackend();
  site = await startSite({ config: { host: legacy.host, region: 'us-west-1' }, apiUrl: () => null, recordErrors: true });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await site?.stop();
  await legacy?.stop();
});

const product = (name) => legacy.catalogue.find((p) => p.name === name);

/** A new visitor's page (the site records its uncaught errors, checked with `assertNoErrors`). */
function newPage() {
  return browser.newPage();
}

async function assertNoErrors(page) {
  assert.deepEqual(await pageErrors(page), [], 'no uncaught errors in the page');
}

/** Waits until the header's cart count reads `n` (the basket is read asynchronously). */
async function waitForCartCount(page, n) {
  await page.waitForFunction(
    (expected) => document.querySelector('[data-testid=cart-count]')?.textContent === String(expected),
    n,
  );
  assert.equal(await page.getByTestId('cart-count').innerText(), String(n));
}

async function addToCart(page, item) {
  await page.goto(`${site.url}/product/${item.uuid}`);
  await page.getByRole('heading', { name: item.name }).waitFor();
  await page.getByRole('button', { name: 'Add to cart' }).click();
  await page.getByTestId('announcer').filter({ hasText: `Added ${item.name} to your cart.` }).waitFor();
}

const callsTo = (method, path) => legacy.calls.filter((c) => c.method === method && c.path === path);

test('browses the legacy catalogue cross-origin, with the region from config.json', async () => {
  const page = await newPage();
  const before = callsTo('GET', '/Production/unicorns/').length;
  await page.goto(site.url);
  const cards = page.getByTestId('product-card');
  await cards.nth(9).waitFor();
  assert.equal(await cards.count(), 10);
  assert.deepEqual(
    await page.locator('.product-name').allInnerTexts(),
    legacy.catalogue.map((p) => p.name),
    'the names are the fake\'s, in its order',
  );
  assert.equal(await cards.first().locator('.product-price').innerText(), '$100.00');
  assert.equal(await cards.first().locator('.product-category').count(), 0, 'no category invented');
  await page.waitForFunction(() => [...document.images].length === 10 && [...document.images].every((img) => img.complete && img.naturalWidth > 0));
  // The fake names no region in a header, so the badge keeps config.json's region.
  assert.equal(await page.getByTestId('region-badge').innerText(), 'us-west-1');
  assert.equal(callsTo('GET', '/Production/unicorns/').length, before + 1, 'the catalogue came from the fake, with the trailing slash');
  assert.ok(
    legacy.calls.every((c) => !('authorization' in c.headers)),
    'nothing sends a token to a legacy backend',
  );
  await page.getByRole('link', { name: 'UnicornFluffy' }).click();
  await page.getByRole('heading', { name: 'UnicornFluffy' }).waitFor();
  assert.equal(await page.getByTestId('product-price').innerText(), '$100.00');
  await assertNoErrors(page);
  await page.close();
});

test('signs up, adds from product pages as a set, keeps session and basket over a reload, removes from the cart', async () => {
  const page = await newPage();
  const email = await signUp(page, site.url, { firstName: 'Grace' });
  const user = legacy.users.get(email);
  assert.ok(user, 'the fake registered the shopper');
  assert.equal(user.firstName, 'Grace');
  assert.match(user.uuid, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  const signup = callsTo('POST', '/Production/user').find((c) => c.body?.email === email);
  assert.equal(signup.headers.origin, site.url, 'a cross-origin call');
  assert.ok(callsTo('OPTIONS', '/Production/user').length > 0, 'the browser asked the CORS preflight');
  assert.ok(
    callsTo('GET', `/Production/unicorns/basket/${user.uuid}`).length > 0,
    'the basket was read by the user uuid (and its null answer accepted)',
  );
  await waitForCartCount(page, 0);

  const float = product('UnicornFloat');
  const fluffy = product('UnicornFluffy');
  await addToCart(page, float);
  await waitForCartCount(page, 1);
  assert.deepEqual(legacy.basket(user.uuid), [float.uuid], 'the fake holds the product');
  await addToCart(page, float);
  await waitForCartCount(page, 1);
  assert.deepEqual(legacy.basket(user.uuid), [float.uuid], 'adding it again keeps one: a set');
  await addToCart(page, fluffy);
  await waitForCartCount(page, 2);
  assert.deepEqual(legacy.basket(user.uuid), [float.uuid, fluffy.uuid].sort());
  const add = callsTo('POST', '/Production/unicorns/basket').at(-1);
  assert.deepEqual(add.body, { uuid: user.uuid, unicorns: [{ uuid: fluffy.uuid }] }, 'the legacy add body');

  await page.reload();
  await page.getByRole('button', { name: 'Log out' }).waitFor();
  await waitForCartCount(page, 2);

  await page.goto(`${site.url}/cart`);
  await page.getByTestId('cart-line').nth(1).waitFor();
  assert.equal(await page.getByTestId('cart-line').count(), 2);
  assert.equal(await page.getByTestId('cart-total').innerText(), '$200.00');
  assert.match(await page.getByTestId('checkout-unavailable').innerText(), /checkout is not available/i);
  assert.equal(await page.getByRole('link', { name: 'Check out' }).count(), 0, 'no checkout is offered');
  assert.equal(await page.getByRole('link', { name: 'Orders' }).count(), 0, 'no orders link either');

  await page.getByRole('button', { name: `Remove ${float.name} from cart` }).click();
  await page.getByTestId('announcer').filter({ hasText: `Removed ${float.name} from your cart.` }).waitFor();
  await waitForCartCount(page, 1);
  assert.equal(await page.getByTestId('cart-line').count(), 1);
  assert.deepEqual(legacy.basket(user.uuid), [fluffy.uuid], 'the fake removed it');
  const remove = callsTo('DELETE', '/Production/unicorns/basket').at(-1);
  assert.deepEqual(remove.body, { uuid: user.uuid, unicorns: [{ uuid: float.uuid }] }, 'a DELETE with the legacy body');

  await page.reload();
  await page.getByTestId('cart-line').first().waitFor();
  await waitForCartCount(page, 1);
  assert.equal(await page.getByTestId('cart-line').locator('a').innerText(), fluffy.name);

  await page.getByRole('button', { name: `Remove ${fluffy.name} from cart` }).click();
  await page.getByText('Your cart is empty.').waitFor();
  await waitForCartCount(page, 0);
  assert.equal(legacy.basket(user.uuid), null, 'the last removal deletes the basket');
  await page.reload();
  await page.getByText('Your cart is empty.').waitFor();
  await waitForCartCount(page, 0);
  await assertNoErrors(page);
  await page.close();
});

test('logs in by email on a fresh browser and finds the basket; an unknown email or a taken one is refused', async () => {
  const first = await newPage();
  const email = await signUp(first, site.url, { firstName: 'Ada' });
  const cool = product('UnicornCool');
  await addToCart(first, cool);
  await waitForCartCount(first, 1);
  await first.getByRole('button', { name: 'Log out' }).click();
  await first.getByRole('link', { name: 'Log in' }).first().waitFor();
  await waitForCartCount(first, 0);
  assert.deepEqual(legacy.basket(legacy.users.get(email).uuid), [cool.uuid], 'logging out leaves the basket on the server');

  await first.goto(`${site.url}/signup`);
  await first.getByLabel('Email').fill(email);
  await first.getByLabel('Password').fill('another password');
  await first.getByRole('button', { name: 'Sign up' }).click();
  await first.locator('#email-error').filter({ hasText: 'This email may already have an account.' }).waitFor();
  assert.equal(await first.getByLabel('Email').getAttribute('aria-invalid'), 'true');
  assert.equal(await first.getByRole('button', { name: 'Log out' }).count(), 0, 'a taken email does not log in');
  await assertNoErrors(first);
  await first.close();

  const page = await newPage();
  await page.goto(`${site.url}/login`);
  await page.getByLabel('Email').fill(`nobody-${email}`);
  await page.getByLabel('Password').fill('whatever it is');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByTestId('form-problem').filter({ hasText: 'The email or password is not right' }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Log out' }).count(), 0, 'an unknown email does not log in');

  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('whatever it is');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('button', { name: 'Log out' }).waitFor();
  const login = callsTo('POST', '/Production/user/login').at(-1);
  assert.equal(login.body.email, email);
  await waitForCartCount(page, 1);
  await page.goto(`${site.url}/cart`);
  await page.getByTestId('cart-line').first().waitFor();
  assert.equal(await page.getByTestId('cart-line').locator('a').innerText(), cool.name);
  assert.ok(await page.getByTestId('checkout-unavailable').isVisible());

  // Going to a checkout step directly says the same.
  await page.goto(`${site.url}/checkout/shipping`);
  await page.getByText('Checkout is not available').waitFor();
  assert.equal(await page.getByRole('button', { name: 'Continue to review' }).count(), 0);
  await assertNoErrors(page);
  await page.close();
});
