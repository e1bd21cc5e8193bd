// Every API down: with us-east-1's and us-west-1's APIs both killed on the two-region stack, the
// shop stays browsable from the catalogue its pages carry (search, category, sort, product pages,
// a guest cart); logging in, signing up and placing an order say calmly that they cannot be done
// for the moment, and lose nothing: the guest cart stays and joins the account once the APIs are
// back, and the order is placed once, when asked again.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { freshEmail, PASSWORD, fillShippingAddress } from './support/shopper.mjs';
import { launchBrowser } from './support/stack.mjs';
import { startTwoRegions } from './support/regions.mjs';

const REGIONS = ['us-east-1', 'us-west-1'];
const UNAVAILABLE = /The shop is unavailable for the moment\. Try again in a few minutes\./;

let browser;
let stack;
let products;

before(async () => {
  browser = await launchBrowser();
  stack = await startTwoRegions();
  products = await (await fetch(`${stack.site.url}/api/unicorns/`)).json();
});

after(async () => {
  await stack?.stop();
  await browser?.close();
});

async function everyApiDown() {
  for (const region of REGIONS) await stack.kill(region);
  const answer = await fetch(`${stack.site.url}/api/unicorns/`);
  assert.ok(answer.status >= 500, `the catalogue API answered ${answer.status} with both regions killed`);
}

async function everyApiBack() {
  for (const region of REGIONS) await stack.restart(region);
}

/** What the catalogue's search matches (src/catalogue_query.rs): name, description, category. */
const matching = (needle) =>
  products.filter((p) => [p.name, p.description, p.category].some((text) => text?.toLowerCase().includes(needle)));

async function cardCount(page, count) {
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid="product-card"]').length === n, count);
}

test('with every API down, a new visitor browses, searches, sorts and fills a guest cart; accounts wait', async () => {
  await everyApiDown();
  const page = await browser.newPage();
  try {
    // A search link opened cold: the shell mounts from the catalogue it carries.
    await page.goto(`${stack.site.url}/?q=backpack`);
    assert.ok(matching('backpack').length > 0);
    await cardCount(page, matching('backpack').length);
    assert.equal(await page.getByTestId('error-panel').count(), 0, 'no error where the catalogue is');

    await page.goto(stack.site.url);
    await cardCount(page, products.length);
    const category = products[0].category;
    await page.getByLabel('Category').selectOption(category);
    await cardCount(page, products.filter((p) => p.category === category).length);
    await page.getByLabel('Category').selectOption('');
    await cardCount(page, products.length);
    await page.getByLabel('Sort by').selectOption('price');
    await page.waitForURL(/sort=price/);
    const cheapest = [...products].sort((a, b) => a.priceCents - b.priceCents)[0];
    await page.getByTestId('product-card').first().filter({ hasText: cheapest.name }).waitFor();

    // A product page, reached through the grid's link, and a guest cart.
    await page.getByRole('link', { name: cheapest.name, exact: true }).click();
    await page.getByRole('heading', { name: cheapest.name }).waitFor();
    await page.getByRole('button', { name: 'Add to cart' }).click();
    await page.getByTestId('announcer').filter({ hasText: `Added ${cheapest.name}` }).waitFor();
    await page.getByTestId('cart-count').filter({ hasText: '1' }).waitFor();

    // The cart, opened cold, shows its line from the shell's catalogue.
    await page.goto(`${stack.site.url}/cart`);
    await page.getByText(cheapest.name, { exact: true }).first().waitFor();
    assert.equal(await page.getByTestId('error-panel').count(), 0);

    // Checking out needs an account: logging in says it cannot be done now, and keeps the cart.
    await page.getByRole('link', { name: 'Log in to check out' }).click();
    await page.getByLabel('Email').fill('nobody@example.com');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    const problem = page.getByTestId('form-problem');
    await problem.filter({ hasText: 'Your cart is kept' }).waitFor();
    assert.match(await problem.textContent(), UNAVAILABLE);
    assert.equal(await page.getByLabel('Email').inputValue(), 'nobody@example.com', 'the form keeps what was typed');

    const email = freshEmail();
    await page.getByRole('link', { name: 'Sign up', exact: true }).click();
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign up' }).click();
    await problem.filter({ hasText: 'Your cart is kept' }).waitFor();
    assert.match(await problem.textContent(), UNAVAILABLE);
    await page.getByTestId('cart-count').filter({ hasText: '1' }).waitFor();

    // Back: the same form, sent again, makes the account, and the guest cart joins it.
    await everyApiBack();
    await page.getByRole('button', { name: 'Sign up' }).click();
    await page.getByRole('button', { name: 'Log out' }).waitFor();
    await page.getByTestId('cart-count').filter({ hasText: '1' }).waitFor();
    await page.goto(`${stack.site.url}/cart`);
    await page.getByText(cheapest.name, { exact: true }).first().waitFor();
  } finally {
    await page.close();
  }
});

test('with every API down, placing an order says it cannot be done now; asked again later it is placed once', async () => {
  const page = await browser.newPage();
  try {
    const email = freshEmail();
    await page.goto(`${stack.site.url}/signup`);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign up' }).click();
    await page.getByRole('button', { name: 'Log out' }).waitFor();
    await page.goto(`${stack.site.url}/product/${products[1].uuid}`);
    await page.getByRole('button', { name: 'Add to cart' }).click();
    await page.getByTestId('announcer').filter({ hasText: `Added ${products[1].name}` }).waitFor();
    await page.getByRole('link', { name: /^Cart/ }).click();
    await page.getByRole('link', { name: 'Check out' }).click();
    await fillShippingAddress(page);
    await page.getByRole('button', { name: 'Continue to review' }).click();
    await page.getByTestId('review-total').waitFor();

    await everyApiDown();
    await page.getByRole('button', { name: 'Place order' }).click();
    const problem = page.getByTestId('form-problem').filter({ hasText: 'Your order was not placed' });
    await problem.waitFor();
    assert.match(await problem.textContent(), UNAVAILABLE);
    assert.equal(await page.getByTestId('review-total').count(), 1, 'the review stays as it was');

    await everyApiBack();
    await page.getByRole('button', { name: 'Place order' }).click();
    await page.waitForURL(/\/orders\/[0-9a-f-]{36}$/);
    const session = await page.evaluate(() => JSON.parse(localStorage.getItem('unishop.session')));
    const answer = await fetch(`${stack.site.url}/api/orders`, { headers: { authorization: `Bearer ${session.token}` } });
    assert.equal(answer.status, 200);
    assert.equal((await answer.json()).length, 1, 'exactly one order');
  } finally {
    await page.close();
  }
});
