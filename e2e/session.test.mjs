// Sessions end cleanly, against our API, in every engine: when the API stops accepting a shopper's
// token (here its signing key is rotated: the API restarts on the same database with a new key),
// the next call's 401 ends the session, says so, and sends the shopper to log in with `next=`
// set; after logging in again they are back where they were, with their cart.

import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { PASSWORD, addToCart, byName, signUp } from './support/shopper.mjs';
import { launchBrowser, startApi, startSite } from './support/stack.mjs';

let api;
let site;
let browser;
let products;

before(async () => {
  api = await startApi({ region: 'us-east-1' });
  site = await startSite({ config: { host: '/api', region: 'us-east-1' }, apiUrl: () => api.url });
  browser = await launchBrowser();
  products = await (await fetch(`${api.url}/unicorns/`)).json();
});

after(async () => {
  await browser?.close();
  await site?.stop();
  await api?.stop();
  api?.removeData();
});

/** Restarts the API on the same database with a freshly generated token key. */
async function rotateTokenKey() {
  const dataDir = api.dataDir;
  await api.stop();
  rmSync(path.join(dataDir, 'token.key'));
  api = await startApi({ region: 'us-east-1', dataDir });
}

test('a refused token ends the session: the shopper is told, logs in, and is back with their cart', async () => {
  const page = await browser.newPage();
  const email = await signUp(page, site.url);
  await addToCart(page, site.url, byName(products, 'Pool Float'), 2);

  await rotateTokenKey();
  await page.goto(`${site.url}/orders`);
  await page.waitForURL((url) => url.pathname === '/login' && url.searchParams.get('next') === '/orders');
  await page.getByTestId('session-ended').filter({ hasText: 'Your session has ended' }).waitFor();
  await page.getByRole('link', { name: 'Log in' }).first().waitFor();
  assert.equal(await page.getByRole('button', { name: 'Log out' }).count(), 0, 'logged out');
  assert.equal(await page.getByTestId('cart-count').innerText(), '0');

  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL((url) => url.pathname === '/orders');
  await page.getByRole('heading', { name: 'Your orders' }).waitFor();
  await page.waitForFunction(() => document.querySelector('[data-testid=cart-count]')?.textContent === '2');
  await page.close();
});
