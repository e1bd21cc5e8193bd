// The cart is always right, against our API, in every engine: answers that arrive late or out of
// order are held back by the site in front of the API (`site.hold` fetches the real answer, then
// delivers it when told), so each race is played out in the order that used to break the cart.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addToCart, byName, signUp, useStack } from './support/shopper.mjs';

let site;
let browser;
let products;
let stack;
useStack((started) => ({ site, browser, products } = stack = started));

/** The cart the API holds for the shopper logged in on `page` (read with their token). */
async function serverCart(page) {
  const session = JSON.parse(await page.evaluate(() => localStorage.getItem('unishop.session')));
  const answer = await fetch(`${stack.api.url}/cart`, { headers: { authorization: `Bearer ${session.token}` } });
  assert.equal(answer.status, 200);
  return answer.json();
}

/** Lets the page act on what it just received: two frames run every task an answer queued. */
export function frames(page) {
  return page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
}

/**
 * Holds the answers to requests matching `method` and `pattern` (site.hold): each request reaches
 * the API at once, and its answer reaches the page only when `release(n)` is called for it (n
 * from 0), after which the page has acted on it.
 */
function holdAnswers(page, method, pattern) {
  const held = site.hold(method, pattern);
  return {
    answered: held.answered,
    async release(n) {
      await held.release(n);
      await frames(page);
    },
    stop: held.stop,
  };
}

test('logged in, adding while the server cart is still loading adds to it, and the count never shows it empty', async () => {
  const page = await browser.newPage();
  const float = byName(products, 'Pool Float');
  await signUp(page, site.url);
  await addToCart(page, site.url, float, 3);

  const cartReads = holdAnswers(page, 'GET', '/api/cart');
  await page.reload();
  await page.getByRole('heading', { name: float.name }).waitFor();
  await cartReads.answered(0);
  assert.notEqual(await page.getByTestId('cart-count').innerText(), '0', 'an unknown cart is not shown as empty');
  await page.getByLabel('Quantity').fill('1');
  await page.getByRole('button', { name: 'Add to cart' }).click();
  await page.getByTestId('announcer').filter({ hasText: `Added ${float.name}` }).waitFor();
  await cartReads.release(0);

  const cart = await serverCart(page);
  assert.deepEqual(cart.items.map((i) => [i.uuid, i.quantity]), [[float.uuid, 4]], '3 in the cart plus 1 is 4');
  assert.equal(await page.getByTestId('cart-count').innerText(), '4', 'the late, older answer is not shown');
  cartReads.stop();
  await page.close();
});

test("a cart answer that lands after logging out never reaches the next account's cart", async () => {
  const page = await browser.newPage();
  const blanket = byName(products, 'Blanket');
  await signUp(page, site.url);
  await addToCart(page, site.url, blanket, 2);

  const cartReads = holdAnswers(page, 'GET', '/api/cart');
  await page.reload();
  await page.getByRole('button', { name: 'Log out' }).waitFor();
  await cartReads.answered(0);
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.getByRole('link', { name: 'Log in' }).first().waitFor();
  await cartReads.release(0);
  assert.equal(await page.getByTestId('cart-count').innerText(), '0', "the old session's cart is not shown");
  const guest = JSON.parse(await page.evaluate(() => localStorage.getItem('unishop.guest-cart')) ?? '{"lines":[]}');
  assert.deepEqual(guest.lines, [], "the old session's cart is not kept as the guest cart");

  cartReads.stop();
  await signUp(page, site.url);
  assert.deepEqual((await serverCart(page)).items, [], "nothing of the first account's cart reaches the second");
  assert.equal(await page.getByTestId('cart-count').innerText(), '0');
  await page.close();
});

test('row updates answered out of order: the latest request wins', async () => {
  const page = await browser.newPage();
  const dress = byName(products, 'Party Dress');
  await signUp(page, site.url);
  await addToCart(page, site.url, dress, 1);
  await page.goto(`${site.url}/cart`);
  await page.getByTestId('cart-line').first().waitFor();

  const updates = holdAnswers(page, 'PUT', '/api/cart/items/*');
  const quantity = page.getByLabel(`Quantity of ${dress.name}`);
  await quantity.fill('5');
  await page.getByRole('button', { name: 'Update' }).click();
  await updates.answered(0);
  await quantity.fill('2');
  await page.getByRole('button', { name: 'Update' }).click();
  await updates.answered(1);
  await updates.release(1);
  await updates.release(0);

  assert.equal((await serverCart(page)).items[0].quantity, 2, 'the API applied both, the second last');
  assert.equal(await page.getByTestId('cart-count').innerText(), '2', 'the older answer (5) does not win');
  assert.equal(await page.getByTestId('line-total').innerText(), `$${((2 * dress.priceCents) / 100).toFixed(2)}`);
  updates.stop();
  await page.close();
});

test('adding past 99 holds the line at 99 and says so, for a guest and logged in alike', async () => {
  const slippers = byName(products, 'Slippers');
  for (const loggedIn of [false, true]) {
    const page = await browser.newPage();
    if (loggedIn) await signUp(page, site.url);
    await addToCart(page, site.url, slippers, 98);
    await page.getByLabel('Quantity').fill('5');
    await page.getByRole('button', { name: 'Add to cart' }).click();
    await page.getByTestId('announcer').filter({ hasText: 'at most 99' }).waitFor();
    assert.equal(await page.getByTestId('cart-count').innerText(), '99', loggedIn ? 'logged in' : 'guest');
    assert.equal(await page.locator('#quantity-error').innerText(), '', 'not refused');
    if (loggedIn) assert.equal((await serverCart(page)).items[0].quantity, 99);
    await page.close();
  }
});
