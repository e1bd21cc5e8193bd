// Accessibility of every page type against our API, in every engine: axe-core finds no serious or
// critical violation on any of them (also with errors shown and with items in the cart), the skip
// link comes first and lands in main, navigation moves focus to the page's heading, nothing scrolls
// sideways at 320 px, and `prefers-reduced-motion` stops the loading placeholders' pulse.

import { AxeBuilder } from '@axe-core/webdriverio';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addToCart, fillShippingAddress, freshEmail, signUp, useStack } from './support/shopper.mjs';
import { startSite } from './support/stack.mjs';

let site;
let browser;
let products;
let api;
useStack((started) => ({ site, browser, products, api } = started));

/** Runs axe on the page as it is and fails on any serious or critical violation, naming them. */
async function assertAccessible(page, what) {
  const { violations } = await new AxeBuilder({ client: page.session }).analyze();
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  const report = bad
    .map((v) => `${v.id} (${v.impact}): ${v.help}\n${v.nodes.map((n) => `    ${n.target.join(' ')}`).join('\n')}`)
    .join('\n  ');
  assert.equal(bad.length, 0, `${what} at ${await page.url()} has serious or critical violations:\n  ${report}`);
}

test('the catalogue, a product, the not-found page and the status page have no serious violations', async () => {
  const page = await browser.newPage();
  await page.goto(site.url);
  await page.getByTestId('product-card').nth(9).waitFor();
  await page.waitForFunction(() => [...document.images].every((img) => img.complete));
  await assertAccessible(page, 'the catalogue');

  await page.goto(`${site.url}/?q=dragon`);
  await page.getByText('No unicorns match your search.').waitFor();
  await assertAccessible(page, 'an empty search');

  await page.goto(`${site.url}/product/${products[0].uuid}`);
  await page.getByRole('heading', { name: products[0].name }).waitFor();
  await assertAccessible(page, 'a product page');

  await page.getByLabel('Quantity').fill('0');
  await page.getByRole('button', { name: 'Add to cart' }).click();
  await page.locator('#quantity-error').filter({ hasText: /quantity/ }).waitFor();
  await assertAccessible(page, 'a product page with a quantity error');

  await page.goto(`${site.url}/no/such/page`);
  await page.getByRole('heading', { name: 'Page not found' }).waitFor();
  await assertAccessible(page, 'the not-found page');

  await page.goto(`${site.url}/status`);
  await page.getByTestId('health-row').first().waitFor();
  await assertAccessible(page, 'the status page');
  await page.close();
});

test('the cart, empty and with a line, has no serious violations', async () => {
  const page = await browser.newPage();
  await page.goto(`${site.url}/cart`);
  await page.getByText('Your cart is empty.').waitFor();
  await assertAccessible(page, 'the empty cart');

  await addToCart(page, site.url, products[1]);
  await page.goto(`${site.url}/cart`);
  await page.getByTestId('cart-line').first().waitFor();
  await assertAccessible(page, 'the cart with a line');
  await page.close();
});

test('sign up and log in have no serious violations, also with field errors shown', async () => {
  const page = await browser.newPage();
  await page.goto(`${site.url}/signup`);
  await page.getByRole('heading', { name: 'Create an account' }).waitFor();
  await assertAccessible(page, 'the signup page');

  await page.getByLabel('Email').fill('not-an-email');
  await page.getByLabel('Password').fill('short');
  await page.getByRole('button', { name: 'Sign up' }).click();
  await page.locator('#password-error').filter({ hasText: /8/ }).waitFor();
  await assertAccessible(page, 'the signup page with field errors');

  await page.goto(`${site.url}/login`);
  await page.getByRole('heading', { name: 'Log in' }).waitFor();
  await assertAccessible(page, 'the login page');

  await page.getByRole('button', { name: 'Log in' }).click();
  await page.locator('#email-error').filter({ hasText: /\S/ }).waitFor();
  await page.locator('#password-error').filter({ hasText: 'Enter your password.' }).waitFor();
  await assertAccessible(page, 'the login page with field errors');

  await page.getByLabel('Email').fill(freshEmail());
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByTestId('form-problem').waitFor();
  await assertAccessible(page, 'the login page with wrong credentials');
  await page.close();
});

test('checkout, the confirmation and the orders list have no serious violations', async () => {
  const page = await browser.newPage();
  await signUp(page, site.url);
  await addToCart(page, site.url, products[2]);

  await page.goto(`${site.url}/checkout/shipping`);
  await page.getByRole('button', { name: 'Continue to review' }).waitFor();
  await assertAccessible(page, 'the shipping step');

  await page.getByRole('button', { name: 'Continue to review' }).click();
  await page.locator('#name-error').filter({ hasText: /\S/ }).waitFor();
  await assertAccessible(page, 'the shipping step with field errors');

  await fillShippingAddress(page);
  await page.getByRole('button', { name: 'Continue to review' }).click();
  await page.waitForURL(/\/checkout\/review$/);
  await page.getByTestId('review-total').waitFor();
  await assertAccessible(page, 'the review step');

  await page.getByRole('button', { name: 'Place order' }).click();
  await page.waitForURL(/\/orders\/[0-9a-f-]{36}$/);
  await page.getByRole('heading', { name: 'Order confirmed' }).waitFor();
  await assertAccessible(page, 'the order confirmation');

  await page.goto(`${site.url}/orders`);
  await page.getByTestId('order-summary').first().waitFor();
  await assertAccessible(page, 'the orders list');
  await page.close();
});

test('the skip link is the first stop and moves focus to main', async () => {
  const page = await browser.newPage();
  await page.goto(site.url);
  await page.getByTestId('product-card').nth(9).waitFor();
  await page.keyboard.press('Tab');
  const first = await page.evaluate(() => ({
    text: document.activeElement?.textContent,
    href: document.activeElement?.getAttribute('href'),
  }));
  assert.deepEqual(first, { text: 'Skip to content', href: '#main' }, 'the first Tab lands on the skip link');
  assert.ok(await page.getByRole('link', { name: 'Skip to content' }).isVisible(), 'visible once focused');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.activeElement?.id === 'main');
  assert.equal(await page.evaluate(() => document.activeElement?.tagName), 'MAIN');
  // The next Tab continues inside main, past the header.
  await page.keyboard.press('Tab');
  assert.ok(await page.evaluate(() => document.querySelector('main').contains(document.activeElement)));
  await page.close();
});

test('following a product link moves focus to the new page\'s heading', async () => {
  const page = await browser.newPage();
  await page.goto(site.url);
  await page.getByTestId('product-card').nth(9).waitFor();
  const product = products[3];
  await page.getByRole('link', { name: product.name, exact: true }).click();
  await page.waitForURL(`${site.url}/product/${product.uuid}`);
  await page.waitForFunction(() => document.activeElement?.tagName === 'H1');
  assert.equal(await page.evaluate(() => document.activeElement.textContent), product.name);
  assert.ok(await page.evaluate(() => document.querySelector('main').contains(document.activeElement)));
  await page.close();
});

test('nothing scrolls sideways at 320 px on the catalogue and the cart', async () => {
  // The shop is laid out in a 320 px frame rather than a 320 px window: a frame's media queries and
  // layout follow its own width as a window's do, and WebKit's MiniBrowser will not make its window
  // narrower than 447 px, so one way holds in every engine.
  const page = await browser.newPage();
  await addToCart(page, site.url, products[4]);
  await page.evaluate(() => {
    document.body.innerHTML = '<iframe id="narrow" width="320" height="640" style="border:0"></iframe>';
  });
  const narrowWidth = async (path, ready) => {
    await page.evaluate((src) => { document.getElementById('narrow').src = src; }, path);
    await page.waitForFunction(
      ({ selector, count }) =>
        (document.getElementById('narrow').contentDocument?.querySelectorAll(selector).length ?? 0) >= count,
      ready,
    );
    return page.evaluate(() => {
      const frame = document.getElementById('narrow');
      return [frame.contentWindow.innerWidth, frame.contentDocument.documentElement.scrollWidth];
    });
  };
  const [catalogueViewport, catalogueWidth] = await narrowWidth('/', { selector: '[data-testid=product-card]', count: 10 });
  assert.ok(catalogueViewport <= 320, `the frame gives a ${catalogueViewport} px viewport`);
  assert.ok(catalogueWidth <= 320, `the catalogue is ${catalogueWidth} px wide`);
  const [, cartWidth] = await narrowWidth('/cart', { selector: '[data-testid=cart-line]', count: 1 });
  assert.ok(cartWidth <= 320, `the cart is ${cartWidth} px wide`);
  await page.close();
});

test('prefers-reduced-motion stops the loading placeholders\' animation', async () => {
  // Holds the catalogue back so the placeholders stay on screen while they are inspected.
  // Placeholders show only on a page that carries no catalogue (as `trunk serve` serves it).
  const bare = await startSite({ config: { host: '/api', region: 'us-east-1' }, apiUrl: () => api.url, catalogueInPage: false });
  const runningAnimations = async (options) => {
    const page = await browser.newPage(options);
    const catalogue = bare.hold('GET', '/api/unicorns/**');
    await page.goto(bare.url);
    await page.locator('.product-card.placeholder').nth(9).waitFor();
    const running = await page.evaluate(
      () => document.getAnimations().filter((a) => a.playState === 'running').length,
    );
    catalogue.stop();
    await page.getByTestId('product-card').nth(9).waitFor();
    await page.close();
    return running;
  };
  assert.ok((await runningAnimations({})) > 0, 'without the preference the placeholders pulse (the check can see it)');
  assert.equal(await runningAnimations({ reducedMotion: 'reduce' }), 0, 'with reduce, nothing moves');
  await bare.stop();
});
