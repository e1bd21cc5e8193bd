// The shopper does not notice the primary region failing: against the local two-region stack, a
// logged-in shopper with a cart keeps shopping and checks out while us-east-1 is killed, frozen,
// or dies with "Place order" in flight; exactly one order exists; the header says us-west-1 and a
// calm notice says the standby serves; once us-east-1 is back and the probe period has passed,
// answers come from us-east-1 again.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { fillShippingAddress, signUp } from './support/shopper.mjs';
import { launchBrowser } from './support/stack.mjs';
import { startTwoRegions } from './support/regions.mjs';

// The storefront stays on the standby 30 s before it probes the primary (crates/failover).
const BACK_ON_PRIMARY_MS = 90_000;

let browser;
let products;

before(async () => {
  browser = await launchBrowser();
});

after(() => browser?.close());

async function withStack(body) {
  const stack = await startTwoRegions();
  try {
    products ??= await (await fetch(`${stack.site.url}/api/unicorns/`)).json();
    await body(stack);
  } finally {
    await stack.stop();
  }
}

async function signUpWithCart(page, site) {
  await signUp(page, site.url);
  await addToCart(page, site, products[0]);
  await page.getByTestId('region-badge').filter({ hasText: 'us-east-1' }).waitFor();
}

async function addToCart(page, site, product) {
  // Through the shop's own links, never a reload: the page keeps its failover state.
  await page.getByRole('link', { name: 'Products', exact: true }).click();
  await page.getByRole('link', { name: product.name, exact: true }).click();
  await page.getByRole('heading', { name: product.name }).waitFor();
  await page.getByRole('button', { name: 'Add to cart' }).click();
  await page.getByTestId('announcer').filter({ hasText: `Added ${product.name}` }).waitFor();
}

async function checkOut(page, site, { beforeClick, whileInFlight } = {}) {
  await page.getByRole('link', { name: /^Cart/ }).click();
  await page.getByRole('link', { name: 'Check out' }).click();
  await fillShippingAddress(page);
  await page.getByRole('button', { name: 'Continue to review' }).click();
  await page.waitForURL(/\/checkout\/review$/);
  await page.getByTestId('review-total').waitFor();
  await beforeClick?.();
  const placing = page.getByRole('button', { name: 'Place order' }).click();
  await whileInFlight?.();
  await placing;
  await page.getByRole('heading', { name: 'Order confirmed' }).waitFor({ timeout: 20_000 });
}

async function expectServedByStandby(page) {
  await page.getByTestId('region-badge').filter({ hasText: 'us-west-1' }).waitFor();
  await page.getByTestId('standby-notice').waitFor();
  assert.match(await page.getByTestId('standby-notice').innerText(), /standby region/);
}

async function expectOneOrder(page) {
  await page.getByRole('link', { name: 'Orders', exact: true }).click();
  await page.getByTestId('order-summary').first().waitFor();
  assert.equal(await page.getByTestId('order-summary').count(), 1, 'exactly one order');
}

/** Keeps clicking through the shop (no reload) until answers come from us-east-1 again. */
async function expectBackOnPrimary(page) {
  const deadline = Date.now() + BACK_ON_PRIMARY_MS;
  while (Date.now() < deadline) {
    await page.getByRole('link', { name: 'Orders', exact: true }).click();
    await page.getByTestId('order-summary').first().waitFor();
    if ((await page.getByTestId('region-badge').innerText()) === 'us-east-1') break;
    await page.getByRole('link', { name: 'Products', exact: true }).click();
    await page.waitForTimeout(2_000);
  }
  assert.equal(await page.getByTestId('region-badge').innerText(), 'us-east-1');
  assert.equal(await page.getByTestId('standby-notice').innerText(), '', 'the notice is gone');
}

test('a killed primary: the shopper adds, checks out once on us-west-1, and returns to us-east-1', async () => {
  await withStack(async (stack) => {
    const page = await browser.newPage();
    await signUpWithCart(page, stack.site);
    await stack.kill();
    await addToCart(page, stack.site, products[1]);
    await expectServedByStandby(page);
    await checkOut(page, stack.site);
    await expectOneOrder(page);
    await stack.restart();
    await expectBackOnPrimary(page);
    await page.close();
  });
});

test('a hung primary: the shopper pays one timeout, checks out once on us-west-1, and returns', async () => {
  await withStack(async (stack) => {
    const page = await browser.newPage();
    await signUpWithCart(page, stack.site);
    await stack.freeze();
    await addToCart(page, stack.site, products[1]);
    await expectServedByStandby(page);
    await checkOut(page, stack.site);
    await stack.thaw();
    await expectOneOrder(page);
    await expectBackOnPrimary(page);
    await page.close();
  });
});

test('a hung primary met by a new visitor: the catalogue that waited for the edge moves the page to the standby, so sign-up goes straight there', async () => {
  await withStack(async (stack) => {
    await stack.freeze();
    const page = await browser.newPage();
    const from = stack.site.requests.length;
    await page.goto(stack.site.url);
    await page.getByRole('link', { name: products[0].name, exact: true }).waitFor();
    await expectServedByStandby(page);
    await signUp(page, stack.site.url, { throughHeader: true });
    const writes = stack.site.requests
      .slice(from)
      .filter((r) => r.method !== 'GET' && r.method !== 'OPTIONS')
      .map((r) => `${r.method} ${r.pathname}`);
    assert.ok(writes.includes('POST /api-standby/user'), writes.join(', '));
    assert.deepEqual(
      writes.filter((write) => !write.includes(' /api-standby/')),
      [],
      'no write waited on the hung primary',
    );
    await stack.thaw();
    await page.close();
  });
});

test('the primary dies with "Place order" in flight: the click places exactly one order', async () => {
  await withStack(async (stack) => {
    const page = await browser.newPage();
    let ordered;
    await signUpWithCart(page, stack.site);
    await checkOut(page, stack.site, {
      beforeClick: async () => {
        await stack.freeze();
        ordered = stack.site.waitForRequest((r) => r.pathname === '/api/orders' && r.method === 'POST');
      },
      whileInFlight: async () => {
        // The order is on its way to the frozen primary; then the primary dies under it.
        await ordered;
        await stack.kill();
      },
    });
    await expectServedByStandby(page);
    await expectOneOrder(page);
    await stack.restart();
    await page.close();
  });
});
