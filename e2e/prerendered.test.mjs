// The prerendered pages, through the local edge as CloudFront serves them: the catalogue and each
// product page arrive as HTML with their products, titles and search-engine tags, hydrate in the
// browser without being rebuilt or shifting, and then react like the rest of the shop; the routes
// of one shopper mount into the shell; a product the build did not prerender is a 404.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';
import { signUp } from './support/shopper.mjs';
import { launchBrowser } from './support/stack.mjs';
import { startTwoRegions } from './support/regions.mjs';

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

/** Layout shifts so far, and whether the page kept its prerendered body (hydrated, not rebuilt). */
async function afterHydration(page) {
  return page.evaluate(
    () =>
      new Promise((resolve) => {
        const shifts = [];
        new PerformanceObserver((list) => shifts.push(...list.getEntries())).observe({
          type: 'layout-shift',
          buffered: true,
        });
        setTimeout(
          () =>
            resolve({
              shifts: shifts.map((s) => s.value),
              prerendered: document.body.dataset.prerendered ?? null,
              crashed: document.querySelector('.crash-notice') !== null,
            }),
          300,
        );
      }),
  );
}

test('a product page is HTML with its title, description, canonical URL, Open Graph and JSON-LD', async () => {
  const product = products[0];
  const answer = await fetch(`${stack.site.url}/product/${product.uuid}`);
  assert.equal(answer.status, 200);
  const html = await answer.text();
  assert.match(html, new RegExp(`<title>${product.name} · The Unicorn Shop</title>`));
  assert.match(html, new RegExp(`class="page-title">${product.name}(<!>)?</h1>`));
  assert.match(html, /<meta name="description" content="A giant inflatable unicorn/);
  assert.match(html, new RegExp(`<link rel="canonical" href="[^"]+/product/${product.uuid}" />`));
  assert.match(html, /<meta property="og:image" content="http[^"]+\/images\/pool-float.svg" \/>/);
  assert.match(html, /<meta property="product:price:amount" content="49.99" \/>/);
  const ld = JSON.parse(html.match(/<script type="application\/ld\+json">(.*?)<\/script>/)[1]);
  assert.equal(ld['@type'], 'Product');
  assert.deepEqual([ld.offers.price, ld.offers.priceCurrency], ['49.99', 'USD']);
  // Inline scripts run only by their hashes in the CSP the edge sends (CloudFront's, edge.yaml's).
  // Enforced in Chromium and Firefox; reported only in WebKit, whose WebDriver runs the specs'
  // scripts under it (support/regions.mjs).
  const csp = answer.headers.get('content-security-policy') ?? answer.headers.get('content-security-policy-report-only');
  const scriptSrc = (csp ?? '')
    .split(';')
    .map((directive) => directive.trim())
    .find((directive) => directive.startsWith('script-src'));
  assert.ok(scriptSrc, 'the page comes with a CSP that says which scripts run');
  assert.doesNotMatch(scriptSrc, /'unsafe-inline'/);
  const inline = [...html.matchAll(/<script(?![^>]*\ssrc=)(?![^>]*\stype="application\/)[^>]*>([\s\S]*?)<\/script>/g)];
  assert.equal(inline.length, 2, "the loader's two inline scripts, no other");
  for (const [, body] of inline) {
    const hash = `'sha256-${createHash('sha256').update(body).digest('base64')}'`;
    assert.ok(scriptSrc.split(/\s+/).includes(hash), `the CSP allows the inline script ${hash}`);
  }

  const sitemap = await (await fetch(`${stack.site.url}/sitemap.xml`)).text();
  assert.ok(sitemap.includes(`/product/${product.uuid}</loc>`));
  const robots = await (await fetch(`${stack.site.url}/robots.txt`)).text();
  assert.match(robots, /^Sitemap: http.+\/sitemap\.xml$/m);
});

test('a prerendered product page hydrates without a shift and then adds to the cart', async () => {
  const product = products[1];
  const page = await browser.newPage();
  await page.goto(`${stack.site.url}/product/${product.uuid}`);
  await page.getByRole('heading', { name: product.name }).waitFor();
  // Hydrated once the header has settled: the region comes from config.json or an answer.
  await page.getByTestId('region-badge').filter({ hasText: 'us-east-1' }).waitFor();
  const state = await afterHydration(page);
  assert.equal(state.prerendered, `/product/${product.uuid}`, 'the prerendered body was kept');
  assert.equal(state.crashed, false);
  assert.deepEqual(state.shifts, [], 'no layout shift');
  assert.equal(await page.title(), `${product.name} · The Unicorn Shop`);

  await page.getByLabel('Quantity').fill('2');
  await page.getByRole('button', { name: 'Add to cart' }).click();
  await page.getByTestId('announcer').filter({ hasText: `Added ${product.name}` }).waitFor();
  await page.getByTestId('cart-count').filter({ hasText: '2' }).waitFor();
  await page.close();
});

test('the prerendered catalogue hydrates, searches, and shows a guest cart kept from before', async () => {
  const page = await browser.newPage();
  await page.goto(`${stack.site.url}/product/${products[2].uuid}`);
  await page.getByRole('button', { name: 'Add to cart' }).click();
  await page.getByTestId('cart-count').filter({ hasText: '1' }).waitFor();

  await page.goto(stack.site.url);
  await page.getByTestId('product-card').nth(products.length - 1).waitFor();
  // The page settles after hydration: the guest cart kept in the browser is counted.
  await page.getByTestId('cart-count').filter({ hasText: '1' }).waitFor();
  const state = await afterHydration(page);
  assert.equal(state.prerendered, '/');
  assert.equal(state.crashed, false);
  assert.deepEqual(state.shifts, [], 'no layout shift');

  await page.getByLabel('Search').fill('backpack');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.waitForURL(/\?q=backpack/);
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="product-card"]').length === 2);
  // Following a card's link stays in the page (the router took over the prerendered links).
  const backpack = products.find((p) => /backpack/i.test(p.name));
  await page.getByRole('link', { name: backpack.name, exact: true }).click();
  await page.getByRole('heading', { name: backpack.name }).waitFor();
  assert.equal(await page.evaluate(() => document.body.dataset.prerendered), '/', 'no page load');
  await page.close();
});

test('the header of a logged-in shopper settles without shifting the page', async () => {
  const page = await browser.newPage();
  await signUp(page, stack.site.url);
  await page.goto(`${stack.site.url}/product/${products[3].uuid}`);
  // Settled: the prerendered header (Log in, Sign up) has become the shopper's own.
  await page.getByRole('button', { name: 'Log out' }).waitFor();
  const state = await afterHydration(page);
  assert.equal(state.prerendered, `/product/${products[3].uuid}`);
  assert.deepEqual(state.shifts, [], 'no layout shift');
  await page.close();
});

test('the routes of one shopper mount into the shell; an unknown product is a 404', async () => {
  const page = await browser.newPage();
  await page.goto(`${stack.site.url}/cart`);
  await page.getByRole('heading', { name: /cart/i }).first().waitFor();
  assert.equal(await page.evaluate(() => document.body.dataset.prerendered ?? null), null);

  const unknown = `${stack.site.url}/product/00000000-0000-4000-8000-000000000000`;
  assert.equal((await fetch(unknown)).status, 404);
  await page.goto(unknown);
  await page.getByRole('heading', { name: 'Page not found' }).waitFor();
  await page.close();
});
