// Time from navigation to the ten product cards, in headless Chromium on loopback, cold cache
// (a fresh browser context per run), for the storefront and, side by side, for the legacy
// baseline in legacy/ (AngularJS 1 + Bootstrap 4 from npm, the old page's start-up: see its
// index.html). Runs alternate between the two against the same API and site server. Prints the
// median waterfall of each (Performance resource timings, ms since navigation) and
// `first_render: median_ms=N runs=N legacy_median_ms=N ratio=N`.
// Run by `cargo xtask bench`; needs UNISHOP_API_BIN and UNISHOP_DIST like the specs.

import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchBrowser, startApi, startSite } from '../support/stack.mjs';

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

/** One cold load: ms from navigation to ten cards, and when each script, style and data request ran. */
async function measure(browser, url) {
  const page = await browser.newPage();
  await page.goto(url, { waitUntil: 'commit' });
  // Milliseconds since this navigation started (the page's time origin), taken in the page in the
  // first frame that shows ten cards: reading the clock in a later call would add the time the
  // answer takes to reach this script.
  const shown = await page.waitForFunction(
    () => document.querySelectorAll('[data-testid=product-card]').length === 10 && performance.now(),
    null,
    { polling: 'raf' },
  );
  const result = await page.evaluate((ms) => ({
    ms,
    resources: performance
      .getEntriesByType('resource')
      .filter((r) => !r.name.includes('/images/'))
      .map((r) => ({ name: new URL(r.name).pathname.replace(/-[0-9a-f]{8,}(?=[._])/, ''), start: r.startTime, end: r.responseEnd })),
  }), await shown.jsonValue());
  await page.close();
  return result;
}

function report(label, results) {
  const names = [...new Set(results.flatMap((r) => r.resources.map((e) => e.name)))];
  console.log(`  ${label} runs (ms): ${results.map((r) => r.ms.toFixed(0)).join(' ')}`);
  console.log(`  ${label} waterfall (median ms since navigation, start-end, requests per load):`);
  for (const name of names) {
    const entries = results.flatMap((r) => r.resources.filter((e) => e.name === name));
    const start = median(entries.map((e) => e.start));
    const end = median(entries.map((e) => e.end));
    console.log(`    ${name.padEnd(28)} ${start.toFixed(0).padStart(5)}-${end.toFixed(0).padEnd(5)} x${(entries.length / results.length).toFixed(1)}`);
  }
}

const api = await startApi({ region: 'us-east-1' });
const config = { host: '/api', region: 'us-east-1' };
const site = await startSite({ config, apiUrl: () => api.url });
const legacyFiles = legacyRoot();
const legacy = await startSite({ config, apiUrl: () => api.url, root: legacyFiles });
const browser = await launchBrowser();
const storefront = [];
const baseline = [];
try {
  for (let run = 0; run < runs; run++) {
    storefront.push(await measure(browser, site.url));
    baseline.push(await measure(browser, legacy.url));
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
console.log(
  `first_render: median_ms=${Math.round(ours)} runs=${runs} legacy_median_ms=${Math.round(theirs)} ratio=${(ours / theirs).toFixed(2)}`,
);
