// The benchmark's browser: Debian's Chromium through playwright-core, for what only the Chrome
// DevTools Protocol gives (a script before the page's own, `waitUntil: 'commit'`). The specs run in
// every engine through support/browser.mjs instead; the figures are Chromium's alone.

import { chromium } from 'playwright-core';

/** Debian's Chromium, headless, with the flags that keep it off the network. Each page opened with
 * `newPage()` lives in a fresh context: its own storage and HTTP cache, as a new visitor. */
export async function launchChromium() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
  return {
    browser,
    async newPage(options = {}) {
      const context = await browser.newContext(options);
      const page = await context.newPage();
      page.on('close', () => context.close().catch(() => {}));
      return page;
    },
    close: () => browser.close(),
  };
}

