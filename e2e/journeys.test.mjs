// Every shopper journey against our API, in every engine: browse and filter, product deep links, the
// guest cart and its merge at sign-up, log out and back in, checkout with Back and a double
// click, orders, status, and the error messages a shopper can act on.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PASSWORD, byName, fillShippingAddress, signUp, useStack } from './support/shopper.mjs';

let site;
let browser;
let products;
useStack((started) => ({ site, browser, products } = started));

async function cartCount(page) {
  return Number(await page.getByTestId('cart-count').innerText());
}

test('filters live in the URL and survive a reload; an empty result offers to clear them', async () => {
  const page = await browser.newPage();
  await page.goto(site.url);
  await page.getByTestId('product-card').nth(9).waitFor();
  await page.getByLabel('Search').fill('backpack');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.waitForURL(/\?q=backpack/);
  assert.equal(await page.getByTestId('product-card').count(), 2);
  await page.getByLabel('Sort by').selectOption('-price');
  await page.waitForURL(/sort=-price/);
  const prices = await page.locator('.product-price').allInnerTexts();
  const cents = prices.map((p) => Number(p.replace(/[$,.]/g, '')));
  assert.deepEqual(cents, [...cents].sort((a, b) => b - a));
  await page.reload();
  await page.getByTestId('product-card').nth(1).waitFor();
  assert.equal(await page.getByTestId('product-card').count(), 2);
  assert.equal(await page.getByLabel('Search').inputValue(), 'backpack');
  await page.goto(`${site.url}/?category=Home`);
  await page.getByTestId('product-card').first().waitFor();
  assert.equal(await page.getByTestId('product-card').count(), 2);
  await page.goto(`${site.url}/?q=dragon`);
  await page.getByText('No unicorns match your search.').waitFor();
  await page.getByRole('link', { name: 'Clear filters' }).click();
  await page.getByTestId('product-card').nth(9).waitFor();
  await page.goBack();
  await page.getByText('No unicorns match your search.').waitFor();
  await page.close();
});

test('a product page is deep-linkable, adds to the cart and announces it; an unknown one is not found', async () => {
  const page = await browser.newPage();
  const slippers = byName(products, 'Slippers');
  await page.goto(`${site.url}/product/${slippers.uuid}`);
  await page.getByRole('heading', { name: slippers.name }).waitFor();
  assert.equal(await page.getByTestId('product-price').innerText(), '$21.99');
  await page.getByLabel('Quantity').fill('0');
  await page.getByRole('button', { name: 'Add to cart' }).click();
  await page.getByText('Choose a quantity from 1 to 99.').waitFor();
  await page.getByLabel('Quantity').fill('2');
  await page.getByRole('button', { name: 'Add to cart' }).click();
  await page.getByTestId('announcer').filter({ hasText: `Added ${slippers.name} to your cart.` }).waitFor();
  assert.equal(await cartCount(page), 2);
  await page.reload();
  await page.getByRole('heading', { name: slippers.name }).waitFor();
  assert.equal(await cartCount(page), 2, 'the guest cart survives a reload');
  await page.goto(`${site.url}/product/00000000-0000-4000-8000-000000000000`);
  await page.getByRole('heading', { name: 'Page not found' }).waitFor();
  await page.goto(`${site.url}/product/not-a-uuid`);
  await page.getByRole('heading', { name: 'Page not found' }).waitFor();
  await page.close();
});

test('a guest cart merges into the account at sign-up, and the session survives reloads and log out/in', async () => {
  const page = await browser.newPage();
  const float = byName(products, 'Pool Float');
  const blanket = byName(products, 'Blanket');
  for (const [product, quantity] of [[float, 1], [blanket, 3]]) {
    await page.goto(`${site.url}/product/${product.uuid}`);
    await page.getByLabel('Quantity').fill(String(quantity));
    await page.getByRole('button', { name: 'Add to cart' }).click();
    await page.getByTestId('announcer').filter({ hasText: 'Added' }).waitFor();
  }
  assert.equal(await cartCount(page), 4);
  const email = await signUp(page, site.url, { firstName: 'Ada' });
  assert.equal(await cartCount(page), 4, 'nothing lost and nothing doubled by the merge');
  await page.goto(`${site.url}/cart`);
  await page.getByTestId('cart-line').nth(1).waitFor();
  const expected = (float.priceCents + 3 * blanket.priceCents) / 100;
  assert.equal(await page.getByTestId('cart-total').innerText(), `$${expected.toFixed(2)}`);

  // A quantity typed in one row, not yet sent, survives another row's update; focus stays put.
  await page.getByLabel(`Quantity of ${float.name}`).fill('7');
  await page.getByLabel(`Quantity of ${blanket.name}`).fill('1');
  await page.getByRole('button', { name: 'Update' }).nth(1).click();
  await page.getByTestId('announcer').filter({ hasText: 'Cart updated.' }).waitFor();
  assert.equal(await cartCount(page), 2);
  assert.equal(await page.getByLabel(`Quantity of ${float.name}`).inputValue(), '7');
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Update');
  assert.equal(
    await page.getByTestId('line-total').nth(1).innerText(),
    `$${(blanket.priceCents / 100).toFixed(2)}`,
  );
  await page.getByRole('button', { name: `Remove ${float.name} from cart` }).click();
  await page.getByTestId('announcer').filter({ hasText: `Removed ${float.name}` }).waitFor();
  assert.equal(await cartCount(page), 1);

  await page.reload();
  await page.getByRole('button', { name: 'Log out' }).waitFor();
  await page.getByTestId('cart-line').first().waitFor();
  assert.equal(await cartCount(page), 1, 'the server cart comes back after a reload');

  await page.getByRole('button', { name: 'Log out' }).click();
  await page.getByRole('link', { name: 'Log in' }).first().waitFor();
  assert.equal(await cartCount(page), 0, 'logging out empties the view');

  await page.goto(`${site.url}/login`);
  await page.getByLabel('Email').fill(email.toUpperCase());
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('button', { name: 'Log out' }).waitFor();
  await page.waitForFunction(() => document.querySelector('[data-testid=cart-count]')?.textContent === '1');
  await page.close();
});

test('forms explain what is wrong, next to the field, and focus the first error', async () => {
  const page = await browser.newPage();
  await page.goto(`${site.url}/signup`);
  await page.getByLabel('Email').fill('not-an-email');
  await page.getByLabel('Password').fill('short');
  await page.getByRole('button', { name: 'Sign up' }).click();
  await page.getByText('Enter an email address like name@example.com.').waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'email');
  assert.equal(await page.getByLabel('Email').getAttribute('aria-invalid'), 'true');
  assert.match(await page.locator('#password-error').innerText(), /at least 8/i);

  const email = await signUp(page, site.url, { firstName: 'Ada' });
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.goto(`${site.url}/signup`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('another good password');
  await page.getByRole('button', { name: 'Sign up' }).click();
  await page.locator('#email-error').filter({ hasText: /already exists/ }).waitFor();

  await page.goto(`${site.url}/login`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('wrong password!');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByTestId('form-problem').filter({ hasText: 'The email or password is not right' }).waitFor();
  await page.close();
});

test('checkout walks shipping and review with Back, and a double click places one order', async () => {
  const page = await browser.newPage();
  await signUp(page, site.url, { firstName: 'Ada' });
  const dress = byName(products, 'Party Dress');
  await page.goto(`${site.url}/product/${dress.uuid}`);
  await page.getByRole('button', { name: 'Add to cart' }).click();
  await page.getByTestId('announcer').filter({ hasText: 'Added' }).waitFor();
  await page.goto(`${site.url}/cart`);
  await page.getByRole('link', { name: 'Check out' }).click();
  await page.waitForURL(/\/checkout\/shipping$/);
  await page.getByRole('button', { name: 'Continue to review' }).click();
  await page.getByText('Enter your full name.').waitFor();
  // Focus moves in the frame after the errors render.
  await page.waitForFunction(() => document.activeElement?.id === 'name');
  await fillShippingAddress(page);
  await page.getByRole('button', { name: 'Continue to review' }).click();
  await page.waitForURL(/\/checkout\/review$/);
  await page.getByTestId('review-address').filter({ hasText: 'Ada Lovelace' }).waitFor();
  await page.goBack();
  await page.waitForURL(/\/checkout\/shipping$/);
  assert.equal(await page.getByLabel('City').inputValue(), 'London', 'the form keeps its values');
  await page.goForward();
  await page.reload();
  await page.getByTestId('review-total').filter({ hasText: '$39.50' }).waitFor();
  const place = page.getByRole('button', { name: 'Place order' });
  await place.dblclick();
  await page.waitForURL(/\/orders\/[0-9a-f-]{36}$/);
  await page.getByRole('heading', { name: 'Order confirmed' }).waitFor();
  assert.equal(await page.getByTestId('order-total').innerText(), '$39.50');
  assert.equal(await cartCount(page), 0);
  await page.getByRole('link', { name: 'All your orders' }).click();
  await page.getByTestId('order-summary').first().waitFor();
  assert.equal(await page.getByTestId('order-summary').count(), 1, 'one order, not two');
  await page.close();
});

test('the status page shows the serving region and the API health', async () => {
  const page = await browser.newPage();
  await page.goto(`${site.url}/status`);
  await page.getByTestId('health-row').first().waitFor();
  assert.match(await page.getByTestId('health-row').first().innerText(), /us-east-1\s+ok/);
  await page.getByTestId('served-region').filter({ hasText: 'us-east-1' }).waitFor();
  await page.close();
});
