// Time from navigation to the ten product cards, in headless Chromium on loopback, cold cache
// (a fresh browser context per run). Prints `first_render: median_ms=N runs=N`.
// Run by `cargo xtask bench`; needs UNISHOP_API_BIN and UNISHOP_DIST like the specs.

import { launchBrowser, startApi, startSite } from '../support/stack.mjs';

const runs = Number(process.env.FIRST_RENDER_RUNS ?? 9);
if (!Number.isInteger(runs) || runs < 1 || runs > 100) {
  throw new Error(`FIRST_RENDER_RUNS must be a whole number from 1 to 100, not ${process.env.FIRST_RENDER_RUNS}`);
}

const api = await startApi({ region: 'us-east-1' });
const site = await startSite({ config: { host: '/api', region: 'us-east-1' }, apiUrl: () => api.url });
const browser = await launchBrowser();
const timings = [];
try {
  for (let run = 0; run < runs; run++) {
    const page = await browser.newPage();
    await page.goto(site.url, { waitUntil: 'commit' });
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=product-card]').length === 10, null, {
      polling: 'raf',
    });
    // Milliseconds since this navigation started (the page's time origin).
    timings.push(await page.evaluate(() => performance.now()));
    await page.close();
  }
} finally {
  await browser.close();
  await site.stop();
  await api.stop();
  api.removeData();
}
timings.sort((a, b) => a - b);
const middle = Math.floor(timings.length / 2);
const median = timings.length % 2 ? timings[middle] : (timings[middle - 1] + timings[middle]) / 2;
console.log(`  runs (ms): ${timings.map((t) => t.toFixed(0)).join(' ')}`);
console.log(`first_render: median_ms=${Math.round(median)} runs=${timings.length}`);
