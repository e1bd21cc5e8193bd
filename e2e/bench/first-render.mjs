// Time from navigation to the ten product cards, and to the largest contentful paint, in headless
// Chromium on loopback, cold cache (a fresh browser context per run), for the storefront's
// prerendered catalogue (`/`, served from catalogue.html as CloudFront serves it) and, side by
// side, for the legacy baseline in legacy/ (AngularJS 1 + Bootstrap 4 from npm, the old page's
// start-up: see its index.html); and the storefront's time to interactive: from navigation to a
// prerendered product page to the first click on Add to cart that works (the cart count changes). Both run against the same API and a site server that compresses like CloudFront,
// in pairs whose order alternates, after one pair that warms the machine up and is not counted,
// so that load from other work on a shared machine falls on both alike. Prints each page's median
// waterfall (ms since navigation: requests from Performance resource timings, and the start-up
// phases marked by a script the bench adds to each page) and
// `first_render: median_ms=N runs=N legacy_median_ms=N ratio=N pair_ratio=N`, where ratio is
// median over median and pair_ratio the median of each pair's own ratio, then
// `largest_contentful_paint: median_ms=N legacy_median_ms=N ratio=N` and
// `interactive: median_ms=N runs=N legacy_first_render_ms=N ratio=N` (the goal: ratio <= 1).
// Run by `cargo xtask bench`; needs UNISHOP_API_BIN and UNISHOP_DIST like the specs.

import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startApi, startSite } from '../support/stack.mjs';
import { launchChromium } from './chromium.mjs';

const runs = Number(process.env.FIRST_RENDER_RUNS ?? 9);
if (!Number.isInteger(runs) || runs < 1 || runs > 100) {
  throw new Error(`FIRST_RENDER_RUNS must be a whole number from 1 to 100, not ${process.env.FIRST_RENDER_RUNS}`);
}

const here = path.dirname(fileURLToPath(import.meta.url));
const modules = path.join(here, '..', 'node_modules');

/** The legacy page's files, its two npm libraries and the storefront's product images, in one dir. */
function legacyRoot() {
  const root = mkdtempSync(path.join(tmpdir(), 'unishop-legacy-'));
  cpSync(path.join(here, 'legacy'), root, { recursive: true });
  cpSync(path.join(modules, 'angular', 'angular.min.js'), path.join(root, 'vendor', 'angular.min.js'));
  cpSync(path.join(modules, 'bootstrap', 'dist', 'css', 'bootstrap.min.css'), path.join(root, 'vendor', 'bootstrap.min.css'));
  cpSync(path.join(process.env.UNISHOP_DIST, 'images'), path.join(root, 'images'), { recursive: true });
  return root;
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

/**
 * Runs in each page before its own scripts: marks (ms since navigation, first occurrence) when
 * WebAssembly compiling starts and the module is instantiated, when Trunk's start-up script has
 * run `main`, when the DOM is parsed, when the app's <main> appears, and the first frame with ten
 * product cards ("ten cards": the time of the first animation frame, which the engine runs only
 * when it renders, that finds them in the document). Taken in the page, by the page's own clock:
 * a poller installed from outside runs only once the page's main thread is free, so it would
 * report when the page stopped being busy rather than when the cards were shown.
 */
function markPhases() {
  const phases = (window.__benchPhases = {});
  const mark = (name) => {
    if (!(name in phases)) phases[name] = performance.now();
  };
  for (const name of ['instantiateStreaming', 'instantiate']) {
    const original = WebAssembly[name];
    WebAssembly[name] = function (...args) {
      mark('wasm compile start');
      return original.apply(this, args).then((result) => {
        mark('wasm instantiated');
        return result;
      });
    };
  }
  addEventListener('TrunkApplicationStarted', () => mark('main returned'));
  document.addEventListener('DOMContentLoaded', () => mark('DOM parsed'));
  new MutationObserver(() => {
    if (document.getElementById('main')) mark('app mounted');
  }).observe(document, { childList: true, subtree: true });
  const frame = (at) => {
    if (document.querySelectorAll('[data-testid=product-card]').length === 10) {
      phases['ten cards'] = at;
      return;
    }
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
}

/** The page's largest contentful paint so far, ms since navigation (0 if the engine has none). */
function largestContentfulPaint() {
  return new Promise((resolve) => {
    new PerformanceObserver((list) => resolve(list.getEntries().at(-1)?.startTime ?? 0)).observe({
      type: 'largest-contentful-paint',
      buffered: true,
    });
    setTimeout(() => resolve(0), 500);
  });
}

/**
 * Runs in the product page before its own scripts: presses Add to cart on every frame from the
 * moment the button exists until the cart count changes, and keeps the time of the press that
 * did it (ms since navigation). Native form submission is held back, so a press before the page
 * has hydrated is a press that did nothing, as it would be for a shopper with the button handled.
 */
function pressAddToCartUntilItWorks() {
  addEventListener('submit', (event) => event.preventDefault(), true);
  let pressedAt = null;
  let before = null;
  const tick = () => {
    const count = document.querySelector('[data-testid=cart-count]')?.textContent.trim() ?? null;
    if (pressedAt !== null && count !== before) {
      window.__benchInteractive = pressedAt;
      return;
    }
    const button = [...document.querySelectorAll('button')].find((b) => b.textContent.trim() === 'Add to cart');
    if (button && !button.disabled) {
      before = count;
      pressedAt = performance.now();
      button.click();
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}

/** One cold load of a product page: ms from navigation to the first Add to cart that works. */
async function measureInteractive(browser, url) {
  const page = await browser.newPage();
  await page.addInitScript(pressAddToCartUntilItWorks);
  await page.goto(url, { waitUntil: 'commit' });
  const ms = await page.waitForFunction(() => window.__benchInteractive ?? false, null, { polling: 'raf' });
  const value = await ms.jsonValue();
  await page.close();
  return value;
}

/** One cold load: ms from navigation to ten cards, its requests and its start-up phases. */
async function measure(browser, url) {
  const page = await browser.newPage();
  await page.addInitScript(markPhases);
  await page.goto(url, { waitUntil: 'commit' });
  // Milliseconds since this navigation started (the page's time origin): the frame markPhases
  // found ten cards in.
  const shown = await page.waitForFunction(() => window.__benchPhases['ten cards'] ?? false, null, {
    polling: 'raf',
  });
  const result = await page.evaluate((ms) => {
    const [navigation] = performance.getEntriesByType('navigation');
    const entries = [{ name: 'html', start: navigation.requestStart, end: navigation.responseEnd }];
    for (const r of performance.getEntriesByType('resource')) {
      if (r.name.includes('/images/')) continue;
      const name = new URL(r.name).pathname.replace(/-[0-9a-f]{8,}(?=[._])/, '');
      entries.push({ name, start: r.startTime, end: r.responseEnd });
    }
    for (const [name, at] of Object.entries(window.__benchPhases)) entries.push({ name, start: at, end: at });
    return { ms, entries };
  }, await shown.jsonValue());
  result.lcp = await page.evaluate(largestContentfulPaint);
  await page.close();
  return result;
}

function report(label, results) {
  const names = [...new Set(results.flatMap((r) => r.entries.map((e) => e.name)))];
  const rows = names.map((name) => {
    const entries = results.flatMap((r) => r.entries.filter((e) => e.name === name));
    return {
      name,
      start: median(entries.map((e) => e.start)),
      end: median(entries.map((e) => e.end)),
      count: entries.length / results.length,
    };
  });
  rows.sort((a, b) => a.start - b.start || a.end - b.end);
  console.log(`  ${label} runs (ms): ${results.map((r) => r.ms.toFixed(0)).join(' ')}`);
  console.log(`  ${label} waterfall (median ms since navigation; requests start-end and per load):`);
  for (const { name, start, end, count } of rows) {
    const span = start === end ? `${start.toFixed(0).padStart(5)}` : `${start.toFixed(0).padStart(5)}-${end.toFixed(0).padEnd(5)} x${count.toFixed(1)}`;
    console.log(`    ${name.padEnd(28)} ${span}`);
  }
}

const api = await startApi({ region: 'us-east-1' });
const config = { host: '/api', region: 'us-east-1' };
// Both sites send their files brotli-encoded, as CloudFront does in production.
const site = await startSite({ config, apiUrl: () => api.url, compress: true, prerendered: true });
const legacyFiles = legacyRoot();
const legacy = await startSite({ config, apiUrl: () => api.url, root: legacyFiles, compress: true });
const browser = await launchChromium();
const storefront = [];
const baseline = [];
const interactive = [];
let productUrl;
try {
  const [product] = await (await fetch(`${api.url}/unicorns/`)).json();
  productUrl = `${site.url}/product/${product.uuid}`;
  // The warm-up pair: the first page of a new browser and the API's first reads are slower.
  await measure(browser, site.url);
  await measure(browser, legacy.url);
  for (let run = 0; run < runs; run++) {
    if (run % 2 === 0) {
      storefront.push(await measure(browser, site.url));
      baseline.push(await measure(browser, legacy.url));
    } else {
      baseline.push(await measure(browser, legacy.url));
      storefront.push(await measure(browser, site.url));
    }
    interactive.push(await measureInteractive(browser, productUrl));
  }
} finally {
  await browser.close();
  await legacy.stop();
  await site.stop();
  await api.stop();
  api.removeData();
  rmSync(legacyFiles, { recursive: true, force: true });
}
report('storefront', storefront);
report('legacy', baseline);
const ours = median(storefront.map((r) => r.ms));
const theirs = median(baseline.map((r) => r.ms));
const pairRatio = median(storefront.map((r, i) => r.ms / baseline[i].ms));
console.log(
  `first_render: median_ms=${Math.round(ours)} runs=${runs} legacy_median_ms=${Math.round(theirs)} ratio=${(ours / theirs).toFixed(2)} pair_ratio=${pairRatio.toFixed(2)}`,
);
const lcp = median(storefront.map((r) => r.lcp));
const legacyLcp = median(baseline.map((r) => r.lcp));
console.log(
  `largest_contentful_paint: median_ms=${Math.round(lcp)} legacy_median_ms=${Math.round(legacyLcp)} ratio=${(lcp / legacyLcp).toFixed(2)}`,
);
const tti = median(interactive);
console.log(
  `interactive: median_ms=${Math.round(tti)} runs=${runs} legacy_first_render_ms=${Math.round(theirs)} ratio=${(tti / theirs).toFixed(2)}`,
);
