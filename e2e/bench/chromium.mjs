// The benchmark's browser: Debian's Chromium through playwright-core, for what only the Chrome
// DevTools Protocol gives (a script before the page's own, `waitUntil: 'commit'`). The specs run in
// every engine through support/browser.mjs instead; the figures are Chromium's alone.

import { chromium } from 'playwright-core';
import { CHROMIUM_ARGS, CHROMIUM_BINARY } from '../support/browser.mjs';

/** Debian's Chromium, headless, with the flags that keep it off the network. Each page opened with
 * `newPage()` lives in a fresh context: its own storage and HTTP cache, as a new visitor. */
export async function launchChromium() {
  const browser = await chromium.launch({
    executablePath: CHROMIUM_BINARY,
    headless: true,
    args: CHROMIUM_ARGS.filter((flag) => flag !== '--headless'),
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

