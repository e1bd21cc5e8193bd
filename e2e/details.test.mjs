// The details, against our API, in every engine: page titles, status messages, select values after Back
// and Forward, focus after a slow navigation, past orders, browsers without `crypto.randomUUID`
// or `AbortSignal.timeout`, the wasm, config.json and the catalogue fetched once (by the page's loader),
// a slow config.json never holding the page back, and a page's requests aborted when it goes.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { signUp, useStack } from './support/shopper.mjs';
import { startSite } from './support/stack.mjs';

let site;
let browser;
let products;
let stack;
useStack((started) => ({ site, browser, products } = stack = started));

/** Places an order for the shopper logged in on `page`, through the API; returns its id. */
async function placeOrderThroughApi(page) {
  const { token } = JSON.parse(await page.evaluate(() => localStorage.getItem('unishop.session')));
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const put = await fetch(`${stack.api.url}/cart/items/${products[0].uuid}`, {
    method: 'PUT', headers, body: JSON.stringify({ quantity: 1 }),
  });
  assert.equal(put.status, 200);
  const order = await fetch(`${stack.api.url}/orders`, {
    method: 'POST',
    headers: { ...headers, 'idempotency-key': `details-${Date.now()}` },
    body: JSON.stringify({ shipping: { name: 'Ada', line1: '1 Road', city: 'London', postalCode: 'N1', country: 'UK' } }),
  });
  assert.equal(order.status, 201);
  return (await order.json()).id;
}

test('every page names itself in the document title', async () => {
  const page = await browser.newPage();
  const product = products[0];
  for (const [url, title] of [
    ['/', 'The Unicorn Shop'],
    [`/product/${product.uuid}`, `${product.name} · The Unicorn Shop`],
    ['/cart', 'Your cart · The Unicorn Shop'],
    ['/login', 'Log in · The Unicorn Shop'],
    ['/signup', 'Create an account · The Unicorn Shop'],
    ['/orders', 'Your orders · The Unicorn Shop'],
    ['/status', 'Service status · The Unicorn Shop'],
    ['/no-such-page', 'Page not found · The Unicorn Shop'],
  ]) {
    await page.goto(`${site.url}${url}`);
    await page.locator('main h1').waitFor();
    await page.waitForFunction((expected) => document.title === expected, title).catch(async () => {
      assert.fail(`${url} is titled ${JSON.stringify(await page.title())}, not ${JSON.stringify(title)}`);
    });
  }
  await page.close();
});

test("the catalogue's status line exists before it speaks, so its news is announced", async () => {
  const page = await browser.newPage();
  const catalogue = site.hold('GET', '/api/unicorns/');
  await page.goto(site.url);
  await page.locator('main h1').waitFor();
  const status = page.locator('main [role=status]');
  assert.equal(await status.count(), 1, 'the status container is there while the catalogue loads');
  const handle = await status.elementHandle();
  catalogue.stop();
  await page.getByTestId('product-card').nth(9).waitFor();
  assert.equal(await handle.evaluate((el) => el.isConnected && el.textContent), '10 products', 'the same element now speaks');
  await page.close();
});

test('the selects show the URL after Back and Forward; a new sort order replaces the history entry', async () => {
  const page = await browser.newPage();
  const [first, second] = [...new Set(products.map((p) => p.category))];
  await page.goto(site.url);
  await page.getByTestId('product-card').nth(9).waitFor();
  const category = page.getByLabel('Category');
  await category.selectOption(first);
  await page.waitForURL((url) => url.searchParams.get('category') === first);
  await category.selectOption(second);
  await page.waitForURL((url) => url.searchParams.get('category') === second);
  await page.goBack();
  await page.waitForURL((url) => url.searchParams.get('category') === first);
  assert.equal(await category.inputValue(), first, 'Back shows the earlier category');
  await page.goForward();
  await page.waitForURL((url) => url.searchParams.get('category') === second);
  assert.equal(await category.inputValue(), second, 'Forward shows the later one');

  const entries = await page.evaluate(() => history.length);
  await page.getByLabel('Sort by').selectOption('price');
  await page.waitForURL((url) => url.searchParams.get('sort') === 'price');
  await page.getByLabel('Sort by').selectOption('-price');
  await page.waitForURL((url) => url.searchParams.get('sort') === '-price');
  assert.equal(await page.evaluate(() => history.length), entries, 'sorting adds no history entries');
  await page.goBack();
  await page.waitForURL((url) => url.searchParams.get('category') === first && !url.searchParams.has('sort'));
  assert.equal(await page.getByLabel('Sort by').inputValue(), '');
  await page.close();
});

test('a past order is headed as an order, and focus reaches its heading however slowly it loads', async () => {
  const page = await browser.newPage();
  await signUp(page, site.url);
  const id = await placeOrderThroughApi(page);
  await page.goto(`${site.url}/orders`);
  await page.getByTestId('order-summary').first().waitFor();

  const order = site.hold('GET', `/api/orders/${id}`);
  await page.getByTestId('order-summary').getByRole('link').click();
  await page.waitForURL(`**/orders/${id}`);
  // Well past the frames a quick page needs: sixty frames with no heading.
  await page.evaluate(() => new Promise((resolve) => {
    let left = 60;
    const tick = () => (--left ? requestAnimationFrame(tick) : resolve());
    requestAnimationFrame(tick);
  }));
  order.stop();
  const heading = page.locator('main h1');
  await heading.filter({ hasText: /^Order of \d{4}-\d{2}-\d{2}$/ }).waitFor();
  await page.waitForFunction(() => document.activeElement === document.querySelector('main h1'));
  assert.equal(await page.getByRole('heading', { name: 'Order confirmed' }).count(), 0);
  await page.close();
});

test('without crypto.randomUUID and AbortSignal.timeout the shop still loads and adds to the cart', async () => {
  // A site whose page removes both before the shop's own scripts run, as in Safari 15.0.
  const older = await startSite({
    config: { host: '/api', region: 'us-east-1' },
    apiUrl: () => stack.api.url,
    inject: '<script>delete Crypto.prototype.randomUUID; delete AbortSignal.timeout;</script>',
  });
  const page = await browser.newPage();
  await page.goto(older.url);
  await page.getByTestId('product-card').nth(9).waitFor();
  assert.deepEqual(
    await page.evaluate(() => [typeof crypto.randomUUID, typeof AbortSignal.timeout]),
    ['undefined', 'undefined'],
    'the page runs without both',
  );
  await signUp(page, older.url);
  await page.goto(`${older.url}/product/${products[1].uuid}`);
  await page.getByRole('button', { name: 'Add to cart' }).click();
  await page.getByTestId('announcer').filter({ hasText: 'Added' }).waitFor();
  assert.equal(await page.getByTestId('cart-count').innerText(), '1');
  assert.equal(await page.locator('#crash-notice').count(), 0, 'nothing crashed');
  const keys = older.requests.map((r) => r.headers['idempotency-key']).filter(Boolean);
  assert.equal(keys.length, 1, 'the add carries an idempotency key');
  assert.match(keys[0], /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  await page.close();
  await older.stop();
});

test("a cold load fetches the wasm, config.json and the catalogue once each: the app takes the requests index.html started", async () => {
  const page = await browser.newPage();
  const from = site.requests.length;
  await page.goto(site.url);
  await page.getByTestId('product-card').nth(9).waitFor();
  assert.deepEqual(
    await page.evaluate(() => Object.keys(window.unishopEarly)),
    [],
    'the app took both of the early answers',
  );
  await page.getByRole('link', { name: products[2].name }).click();
  await page.getByRole('heading', { name: products[2].name }).waitFor();
  const counted = { '/config.json': 0, '/api/unicorns/': 0, wasm: 0 };
  for (const { pathname } of site.requests.slice(from)) {
    if (pathname in counted) counted[pathname] += 1;
    if (pathname.endsWith('.wasm')) counted.wasm += 1;
  }
  assert.deepEqual(counted, { '/config.json': 1, '/api/unicorns/': 1, wasm: 1 });
  await page.close();
});

test("leaving a page aborts the page's requests still on their way", async () => {
  const page = await browser.newPage();
  await signUp(page, site.url);
  const hang = site.neverAnswer('GET', '/api/orders');
  const from = site.requests.length;
  await page.goto(`${site.url}/orders`);
  await page.getByText('Loading your orders…').waitFor();
  const leftAt = Date.now();
  await page.getByRole('link', { name: 'Products' }).click();
  await page.getByTestId('product-card').nth(9).waitFor();
  const orders = site.requests.slice(from).find((r) => r.pathname === '/api/orders');
  assert.ok(orders, 'the orders page asked for the orders');
  // The read's own time budget is 3.5 s (crates/failover): an abort well before it is the page's.
  while (!orders.aborted && Date.now() < orders.at + 3_000) await page.waitForTimeout(50);
  assert.ok(orders.aborted, 'the browser gave the request up');
  assert.ok(orders.abortedAt - leftAt < 1_500, `aborted on leaving, not at the timeout (${orders.abortedAt - leftAt} ms after)`);
  hang.stop();
  await page.close();
});

test('a slow config.json does not keep the page blank: it mounts with the catalogue it carries, then reads config.json', async () => {
  const page = await browser.newPage();
  const from = site.requests.length;
  const config = site.hold('GET', '/config.json');
  await page.goto(site.url);
  await page.getByRole('heading', { name: 'Unicorns for every day' }).waitFor();
  const configs = () => site.requests.slice(from).filter((r) => r.pathname === '/config.json');
  assert.deepEqual(configs().filter((r) => r.aborted), [], 'the page mounted while config.json was on its way, not after giving up on it');
  await page.getByTestId('product-card').nth(9).waitFor();
  assert.equal((await page.getByTestId('region-badge').innerText()).trim(), '…', 'config.json has not come yet');
  config.stop();
  await page.getByTestId('region-badge').filter({ hasText: 'us-east-1' }).waitFor();
  assert.equal(configs().length, 1, 'one request for config.json: the one index.html started, taken by the app');
  await page.close();
});
