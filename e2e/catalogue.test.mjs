// The catalogue journey of the walking skeleton: the release build, served like CloudFront would,
// against a real API.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launchBrowser, pageErrors, startApi, startSite } from './support/stack.mjs';

let api;
let site;
let browser;
let apiUrl = null;

before(async () => {
  api = await startApi({ region: 'us-west-1' });
  apiUrl = api.url;
  site = await startSite({ config: { host: '/api', region: 'us-east-1' }, apiUrl: () => apiUrl, recordErrors: true });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await site?.stop();
  await api?.stop();
  api?.removeData();
});

test('shows the ten products with prices and the region that served them', async () => {
  const page = await browser.newPage();
  await page.goto(site.url);
  const cards = page.getByTestId('product-card');
  await cards.nth(9).waitFor();
  assert.equal(await cards.count(), 10);
  const first = cards.first();
  assert.match(await first.locator('.product-price').innerText(), /^\$\d+\.\d\d$/);
  assert.ok((await first.locator('.product-category').innerText()).length > 0);
  const image = first.locator('img');
  assert.ok((await image.getAttribute('alt')).length > 10);
  await page.waitForFunction(() => [...document.images].every((img) => img.complete && img.naturalWidth > 0));
  // The API names its region in a header; it wins over config.json's region.
  await page.getByTestId('region-badge').filter({ hasText: 'us-west-1' }).waitFor();
  assert.deepEqual(await pageErrors(page), [], 'no uncaught errors in the page');
  await page.close();
});

test('with the API unreachable the catalogue the page carries shows', async () => {
  const page = await browser.newPage();
  apiUrl = null;
  try {
    await page.goto(site.url);
    await page.getByTestId('product-card').nth(9).waitFor();
    assert.equal(await page.getByTestId('error-panel').count(), 0);
  } finally {
    apiUrl = api.url;
  }
  await page.close();
});

test('a page without the catalogue gets a clear message when the API is unreachable, and Retry recovers', async () => {
  // As `trunk serve` serves the shell: nothing to show but what the API answers.
  const bare = await startSite({ config: { host: '/api', region: 'us-east-1' }, apiUrl: () => apiUrl, catalogueInPage: false });
  const page = await browser.newPage();
  try {
    apiUrl = null;
    await page.goto(bare.url);
    const panel = page.getByTestId('error-panel');
    await panel.waitFor();
    assert.match(await panel.innerText(), /unavailable|reach/i);
    assert.equal(await page.getByTestId('product-card').count(), 0);
    apiUrl = api.url;
    await page.getByRole('button', { name: 'Retry' }).click();
    await page.getByTestId('product-card').nth(9).waitFor();
    assert.equal(await page.getByTestId('error-panel').count(), 0);
  } finally {
    apiUrl = api.url;
    await page.close();
    await bare.stop();
  }
});

test('an unknown address shows the not-found page inside the shop', async () => {
  const page = await browser.newPage();
  await page.goto(`${site.url}/no/such/page`);
  await page.getByRole('heading', { name: 'Page not found' }).waitFor();
  assert.ok(await page.getByTestId('region-badge').isVisible());
  await page.close();
});
