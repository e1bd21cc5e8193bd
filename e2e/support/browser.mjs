// The browser under every spec: Chromium, Firefox or WebKit (UNISHOP_E2E_ENGINE, default
// chromium), each driven over W3C WebDriver by WebdriverIO through the engine's own driver
// (chromedriver, geckodriver, WebKitWebDriver), so one copy of each journey runs in every engine.
//
// Pages are written in the locator vocabulary of Playwright (getByRole, getByLabel, getByTestId,
// getByText, filter, nth, waitFor, fill ...), which the specs were first written in and which reads
// as a shopper sees the page. Roles, labels and accessible names are computed in the page by
// @testing-library/dom (dom-accessibility-api underneath), the same rules in every engine. Every
// action waits, up to its timeout, for one visible, enabled element and retries when the page
// re-renders under it, as Playwright's do. Network events are not taken from the browser (classic
// WebDriver has none, and WebKitWebDriver speaks nothing else): the servers in front of the shop
// (stack.mjs's site, regions.mjs's recorder) see and hold requests instead.

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Key, remote } from 'webdriverio';

const require = createRequire(import.meta.url);

/** Debian's Chromium (or `CHROMIUM`), for the specs and the benchmark. */
export const CHROMIUM_BINARY = process.env.CHROMIUM ?? '/usr/bin/chromium';

/** Chromium's flags that keep it headless and off the network (this machine's is closed). */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

/** The engines the specs run in, with how each is driven. */
export const ENGINES = {
  chromium: {
    driver: '/usr/bin/chromedriver',
    driverArgs: (port) => [`--port=${port}`],
    capabilities: ({ reducedMotion }) => ({
      browserName: 'chrome',
      'goog:chromeOptions': {
        binary: CHROMIUM_BINARY,
        args: [...CHROMIUM_ARGS, ...(reducedMotion ? ['--force-prefers-reduced-motion'] : [])],
      },
    }),
  },
  firefox: {
    driver: process.env.GECKODRIVER ?? path.join(process.env.HOME ?? '/root', '.cargo/bin/geckodriver'),
    // Ports of its own for Marionette and the remote agent, so two sessions never meet.
    driverArgs: (port, spare) => [`--port=${port}`, '--marionette-port=0', `--websocket-port=${spare}`],
    capabilities: ({ reducedMotion }) => ({
      browserName: 'firefox',
      'moz:firefoxOptions': {
        binary: '/usr/bin/firefox-esr',
        args: ['-headless'],
        prefs: {
          // Firefox would otherwise reach out for updates, studies and safe-browsing lists.
          'app.update.enabled': false,
          'browser.safebrowsing.malware.enabled': false,
          'browser.safebrowsing.phishing.enabled': false,
          'network.captive-portal-service.enabled': false,
          'network.connectivity-service.enabled': false,
          ...(reducedMotion ? { 'ui.prefersReducedMotion': 1 } : {}),
        },
      },
    }),
  },
  webkit: {
    driver: '/usr/bin/WebKitWebDriver',
    driverArgs: (port) => [`--port=${port}`],
    capabilities: () => ({
      browserName: 'MiniBrowser',
      'webkitgtk:browserOptions': {
        binary: '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser',
        args: ['--automation'],
      },
    }),
    // MiniBrowser draws into a window: it needs a display (Xvfb), and WebKit's sandbox and DMA-BUF
    // renderer do not run as root in a container. prefers-reduced-motion follows GTK's
    // gtk-enable-animations setting, read from the settings.ini under XDG_CONFIG_HOME.
    needsDisplay: true,
    // Its click on an <option> is no user activation (see Locator.selectOption).
    selectsByKeyboard: true,
    env: ({ reducedMotion }) => ({
      WEBKIT_DISABLE_SANDBOX_THIS_IS_DANGEROUS: '1',
      WEBKIT_DISABLE_DMABUF_RENDERER: '1',
      ...(reducedMotion ? { XDG_CONFIG_HOME: gtkSettingsWithoutAnimations() } : {}),
    }),
  },
};

/** The engine this run of the specs uses. */
export const ENGINE = process.env.UNISHOP_E2E_ENGINE ?? 'chromium';
if (!(ENGINE in ENGINES)) {
  throw new Error(`UNISHOP_E2E_ENGINE=${ENGINE}: the engines are ${Object.keys(ENGINES).join(', ')}`);
}

/** How long an action or a wait looks for its element before it fails (Playwright's default). */
const TIMEOUT_MS = 30_000;
/** The viewport every page starts with unless a spec asks for another (Playwright's default). */
const VIEWPORT = { width: 1280, height: 720 };

let display;
let gtkConfigHome;

/**
 * Starts the engine's browser on demand: `newPage()` is a new visitor (a new WebDriver session, so
 * its own storage, cookies and HTTP cache), with options `viewport: {width, height}` and
 * `reducedMotion: 'reduce'`. `close()` ends every page still open.
 */
export async function launchBrowser() {
  const open = new Set();
  return {
    engine: ENGINE,
    async newPage(options = {}) {
      const page = await openPage(options);
      open.add(page);
      page.onClose(() => open.delete(page));
      return page;
    },
    async close() {
      await Promise.all([...open].map((page) => page.close()));
    },
  };
}

async function openPage({ viewport = VIEWPORT, reducedMotion } = {}) {
  const engine = ENGINES[ENGINE];
  const settings = { reducedMotion: reducedMotion === 'reduce' };
  const env = { ...process.env, ...(engine.env?.(settings) ?? {}) };
  if (engine.needsDisplay && !env.DISPLAY) env.DISPLAY = await startDisplay();
  const [port, spare] = [await freePort(), await freePort()];
  const driver = spawn(engine.driver, engine.driverArgs(port, spare), { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let driverLog = '';
  driver.stderr.on('data', (chunk) => { driverLog = (driverLog + chunk).slice(-4000); });
  const exited = new Promise((resolve) => driver.once('exit', resolve));
  driver.once('error', (error) => { driverLog += `\n${error.message}`; });
  try {
    await waitForDriver(port, exited);
    const session = await remote({
      hostname: '127.0.0.1',
      port,
      path: '/',
      logLevel: 'error',
      connectionRetryCount: 0,
      connectionRetryTimeout: 60_000,
      capabilities: { ...engine.capabilities(settings), 'wdio:enforceWebDriverClassic': true },
    });
    const page = new Page(session, async () => {
      await session.deleteSession().catch(() => {});
      driver.kill('SIGTERM');
      await exited;
    });
    await page.setViewportSize(viewport);
    return page;
  } catch (error) {
    driver.kill('SIGKILL');
    throw new Error(`${ENGINE}: could not open a page: ${error.message}\n${driverLog}`);
  }
}

/** Polls the driver's /status until it is ready, or fails when the driver exits first. */
async function waitForDriver(port, exited) {
  let gone = false;
  exited.then(() => { gone = true; });
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline && !gone) {
    try {
      const answer = await fetch(`http://127.0.0.1:${port}/status`);
      const { value } = await answer.json();
      if (value?.ready !== false) return;
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  throw new Error(gone ? 'the driver exited at start' : 'the driver did not answer /status in 20 s');
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** One Xvfb display for the whole run, on a number Xvfb picks itself; stopped when node exits. */
function startDisplay() {
  display ??= new Promise((resolve, reject) => {
    const xvfb = spawn('Xvfb', ['-displayfd', '3', '-screen', '0', '1920x1080x24', '-nolisten', 'tcp'], {
      stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
    });
    let said = '';
    xvfb.stdio[3].on('data', (chunk) => {
      said += chunk;
      if (said.includes('\n')) {
        // Nothing more to read: the pipe must not keep node running once the specs are done.
        xvfb.stdio[3].destroy();
        resolve(`:${said.trim()}`);
      }
    });
    xvfb.once('error', (error) => reject(new Error(`cannot start Xvfb: ${error.message}`)));
    xvfb.once('exit', (code) => reject(new Error(`Xvfb exited (${code}) before naming its display`)));
    xvfb.unref();
    process.once('exit', () => xvfb.kill());
  });
  return display;
}

function gtkSettingsWithoutAnimations() {
  if (!gtkConfigHome) {
    gtkConfigHome = mkdtempSync(path.join(tmpdir(), 'unishop-gtk-'));
    for (const version of ['gtk-3.0', 'gtk-4.0']) {
      mkdirSync(path.join(gtkConfigHome, version));
      writeFileSync(path.join(gtkConfigHome, version, 'settings.ini'), '[Settings]\ngtk-enable-animations=0\n');
    }
    process.once('exit', () => rmSync(gtkConfigHome, { recursive: true, force: true }));
  }
  return gtkConfigHome;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** @testing-library/dom's browser bundle, put into each document the first time a query needs it. */
const TESTING_LIBRARY = readFileSync(
  path.join(path.dirname(require.resolve('@testing-library/dom/package.json')), 'dist/@testing-library/dom.umd.min.js'),
  'utf8',
);

/** WebDriver's errors that mean "not yet": the element went, moved, or is covered for a moment. */
const RETRYABLE = /stale element|not interactable|click intercepted|no such element|detached|obscured|not clickable/i;

/** A page of one visitor. */
export class Page {
  constructor(session, end) {
    this.session = session;
    this.end = end;
    this.closed = false;
    this.closeListeners = [];
    this.keyboard = {
      /** Presses and releases one key (`Tab`, `Enter`, ...) where the focus is. */
      press: (key) => {
        if (!(key in Key)) throw new Error(`keyboard.press: no key named ${key}`);
        return this.session.keys(Key[key]);
      },
    };
  }

  onClose(listener) {
    this.closeListeners.push(listener);
  }

  async close() {
    if (this.closed) return;
    this.closed = true;
    this.closeListeners.forEach((listener) => listener());
    await this.end();
  }

  /** Sets the size of the document's viewport (the window is sized around it). */
  async setViewportSize({ width, height }) {
    const inner = () => this.session.execute(() => [window.innerWidth, window.innerHeight]);
    // WebKitGTK resizes its window asynchronously: the size asked for can show a few frames
    // later, and on a busy machine a resize can be dropped, so the size is asked for again
    // (from the window's size at that moment) until the viewport has it, within two seconds.
    let got = await inner();
    for (let attempt = 0; attempt < 20 && (got[0] !== width || got[1] !== height); attempt++) {
      if (attempt % 5 === 0) {
        const { width: outerWidth, height: outerHeight } = await this.session.getWindowSize();
        await this.session.setWindowSize(width + outerWidth - got[0], height + outerHeight - got[1]);
      } else {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      got = await inner();
    }
    if (got[0] !== width || got[1] !== height) {
      throw new Error(`${ENGINE} gives a ${got[0]}×${got[1]} viewport, not the ${width}×${height} asked for`);
    }
  }

  goto(url) {
    return this.session.url(url);
  }

  reload() {
    return this.session.refresh();
  }

  goBack() {
    return this.session.back();
  }

  goForward() {
    return this.session.forward();
  }

  url() {
    return this.session.getUrl();
  }

  title() {
    return this.session.getTitle();
  }

  /** Runs `fn(arg)` in the page and returns what it returns (a promise is awaited). */
  async evaluate(fn, arg) {
    const outcome = await this.session.executeAsync(
      // The driver's callback comes last; a thrown error or rejection is sent back as text.
      `const done = arguments[arguments.length - 1];
       Promise.resolve()
         .then(() => (${fn}).apply(null, Array.prototype.slice.call(arguments, 0, -1)))
         .then((value) => done({ value: value === undefined ? null : value }),
               (error) => done({ error: String(error && error.stack || error) }));`,
      ...(arg === undefined ? [] : [arg]),
    );
    if (outcome?.error) throw new Error(`in the page: ${outcome.error}`);
    return outcome?.value;
  }

  /** Waits until `fn(arg)` returns something truthy in the page. */
  async waitForFunction(fn, arg, { timeout = TIMEOUT_MS } = {}) {
    const deadline = Date.now() + timeout;
    for (;;) {
      const value = await this.evaluate(fn, arg).catch(() => undefined);
      if (value) return value;
      if (Date.now() > deadline) throw new Error(`waitForFunction: ${fn} stayed false for ${timeout} ms`);
      await sleep(50);
    }
  }

  /** Waits until the page's URL matches: a RegExp, a function of a URL, or a string (`**` globs). */
  async waitForURL(expected, { timeout = TIMEOUT_MS } = {}) {
    const matches = urlMatcher(expected);
    const deadline = Date.now() + timeout;
    let last;
    for (;;) {
      last = await this.url();
      if (matches(new URL(last))) return;
      if (Date.now() > deadline) throw new Error(`waitForURL: still at ${last} after ${timeout} ms, waiting for ${expected}`);
      await sleep(50);
    }
  }

  waitForTimeout(ms) {
    return sleep(ms);
  }

  locator(selector) {
    return new Locator(this, [{ kind: 'css', selector }]);
  }

  getByRole(role, options) {
    return new Locator(this, []).getByRole(role, options);
  }

  getByLabel(text, options) {
    return new Locator(this, []).getByLabel(text, options);
  }

  getByTestId(id) {
    return new Locator(this, []).getByTestId(id);
  }

  getByText(text, options) {
    return new Locator(this, []).getByText(text, options);
  }

  /** The elements `steps` name now, as WebDriver element references (no waiting). */
  async query(steps) {
    let found = await this.session.execute(resolveInPage, steps);
    if (found === 'needs-testing-library') {
      // Onto `window` itself: Firefox runs each script in a sandbox of its own whose `globalThis`
      // and `this` are not the window, where the library would otherwise put itself.
      await this.session.execute(
        `(function (globalThis, exports, module, define) { ${TESTING_LIBRARY} }).call(window, window); return true;`,
      );
      found = await this.session.execute(resolveInPage, steps);
    }
    if (!Array.isArray(found)) throw new Error(`cannot resolve ${describe(steps)}: ${found}`);
    return found;
  }
}

function urlMatcher(expected) {
  if (expected instanceof RegExp) return (url) => expected.test(url.href);
  if (typeof expected === 'function') return expected;
  const pattern = new RegExp(
    `^${String(expected).split('**').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`,
  );
  return (url) => pattern.test(url.href);
}

/** Text matching as Playwright's: a string matches as a case-insensitive substring, with
 * whitespace folded, unless `exact`; a RegExp is tested as it is. */
function textMatcher(text, exact = false) {
  return text instanceof RegExp
    ? { source: text.source, flags: text.flags }
    : { text: String(text), exact };
}

function describe(steps) {
  return steps
    .map((step) => {
      const value = step.name ?? step.text ?? step.selector ?? step.id ?? step.index ?? '';
      const shown = typeof value === 'object' ? (value.source ? `/${value.source}/` : JSON.stringify(value.text)) : JSON.stringify(value);
      return step.kind === 'role' ? `role=${step.role}[name=${shown}]` : `${step.kind}=${shown}`;
    })
    .join(' >> ');
}

/** A way to find elements, resolved afresh at each use (so it survives re-renders). */
export class Locator {
  constructor(page, steps) {
    this.page = page;
    this.steps = steps;
  }

  with(step) {
    return new Locator(this.page, [...this.steps, step]);
  }

  locator(selector) {
    return this.with({ kind: 'css', selector });
  }

  getByRole(role, { name, exact } = {}) {
    return this.with({ kind: 'role', role, name: name === undefined ? undefined : textMatcher(name, exact) });
  }

  getByLabel(text, { exact } = {}) {
    return this.with({ kind: 'label', text: textMatcher(text, exact) });
  }

  getByTestId(id) {
    return this.with({ kind: 'css', selector: `[data-testid=${JSON.stringify(id)}]` });
  }

  getByText(text, { exact } = {}) {
    return this.with({ kind: 'text', text: textMatcher(text, exact) });
  }

  filter({ hasText }) {
    return this.with({ kind: 'hasText', text: textMatcher(hasText) });
  }

  nth(index) {
    return this.with({ kind: 'nth', index });
  }

  first() {
    return this.nth(0);
  }

  last() {
    return this.nth(-1);
  }

  toString() {
    return describe(this.steps);
  }

  /** How many elements match now. */
  async count() {
    return (await this.page.query(this.steps)).length;
  }

  /** Waits until the first match is `visible` (default), `attached`, `hidden` or `detached`. */
  async waitFor({ state = 'visible', timeout = TIMEOUT_MS } = {}) {
    const deadline = Date.now() + timeout;
    for (;;) {
      const [first] = await this.page.query([...this.steps, { kind: 'state' }]);
      const done = {
        attached: Boolean(first),
        detached: !first,
        visible: Boolean(first?.visible),
        hidden: !first?.visible,
      }[state];
      if (done) return;
      if (Date.now() > deadline) throw new Error(`waitFor ${state}: ${this} (${timeout} ms)`);
      await sleep(50);
    }
  }

  /** Runs `act(elementId)` on the first visible, enabled match, retrying while the page changes. */
  async act(what, act, { timeout = TIMEOUT_MS, enabled = true } = {}) {
    const deadline = Date.now() + timeout;
    let reason = 'no element matches';
    for (;;) {
      const [first] = await this.page.query([...this.steps, { kind: 'state' }]);
      if (!first) reason = 'no element matches';
      else if (!first.visible) reason = 'the element is not visible';
      else if (enabled && first.disabled) reason = 'the element is disabled';
      else {
        try {
          return await act(first.element);
        } catch (error) {
          if (!RETRYABLE.test(error.message)) throw new Error(`${what} ${this}: ${error.message}`);
          reason = error.message.split('\n')[0];
        }
      }
      if (Date.now() > deadline) throw new Error(`${what} ${this}: ${reason} (${timeout} ms)`);
      await sleep(50);
    }
  }

  /** Runs `fn(element, arg)` on the first match once there is one (visible or not). */
  async read(what, fn, arg) {
    const deadline = Date.now() + TIMEOUT_MS;
    for (;;) {
      const [first] = await this.page.query(this.steps);
      if (first) {
        try {
          return await this.page.session.execute(fn, first, arg ?? null);
        } catch (error) {
          if (!RETRYABLE.test(error.message)) throw error;
        }
      }
      if (Date.now() > deadline) throw new Error(`${what} ${this}: no element matches (${TIMEOUT_MS} ms)`);
      await sleep(50);
    }
  }

  click() {
    const { session } = this.page;
    return this.act('click', (element) => session.elementClick(idOf(element)));
  }

  dblclick() {
    const { session } = this.page;
    return this.act('dblclick', (element) =>
      session.performActions([
        {
          type: 'pointer',
          id: 'mouse',
          parameters: { pointerType: 'mouse' },
          actions: [
            { type: 'pointerMove', origin: element, x: 0, y: 0 },
            { type: 'pointerDown', button: 0 },
            { type: 'pointerUp', button: 0 },
            { type: 'pointerDown', button: 0 },
            { type: 'pointerUp', button: 0 },
          ],
        },
      ]).finally(() => session.releaseActions()));
  }

  /** Replaces the field's value by typing `value`, as a shopper would after selecting all. */
  fill(value) {
    const { session } = this.page;
    return this.act('fill', async (element) => {
      await session.elementClear(idOf(element));
      if (value === '') {
        await session.execute((el) => el.dispatchEvent(new Event('input', { bubbles: true })), element);
      } else {
        await session.elementSendKeys(idOf(element), String(value));
      }
    });
  }

  /**
   * Chooses the option whose value or label is `value` in a <select>, as a shopper does: by
   * clicking it, or in WebKit by the keyboard. WebKitWebDriver's click on an <option> is not a user
   * activation, and WebKit skips history entries pushed without one when going Back (a shopper's
   * real choice is one); so there the select is put one option short of the target, silently, and
   * one arrow key (a real key press) moves it there: one change event, from a user's gesture.
   */
  selectOption(value) {
    const { session } = this.page;
    return this.act('selectOption', async (element) => {
      const choice = await session.execute(
        (select, wanted, byKeyboard) => {
          const options = [...select.options];
          const target = options.findIndex((o) => o.value === wanted || o.label === wanted);
          if (target < 0) return null;
          if (!byKeyboard) return { option: options[target] };
          if (select.selectedIndex === target) return { done: true };
          if (options.length < 2) return { option: options[target] };
          select.selectedIndex = target > 0 ? target - 1 : 1;
          return { key: target > 0 ? 'ArrowDown' : 'ArrowUp' };
        },
        element,
        String(value),
        Boolean(ENGINES[ENGINE].selectsByKeyboard),
      );
      if (!choice) throw new Error(`the select has no option ${JSON.stringify(value)}`);
      if (choice.option) await session.elementClick(idOf(choice.option));
      if (choice.key) await session.elementSendKeys(idOf(element), Key[choice.key]);
    });
  }

  innerText() {
    return this.read('innerText', (el) => el.innerText);
  }

  textContent() {
    return this.read('textContent', (el) => el.textContent);
  }

  inputValue() {
    return this.read('inputValue', (el) => el.value);
  }

  getAttribute(name) {
    return this.read('getAttribute', (el, attribute) => el.getAttribute(attribute), name);
  }

  async allInnerTexts() {
    const elements = await this.page.query(this.steps);
    return this.page.session.execute((...els) => els.map((el) => el.innerText), ...elements);
  }

  /** Whether the first match is visible now (no waiting). */
  async isVisible() {
    const [first] = await this.page.query([...this.steps, { kind: 'state' }]);
    return Boolean(first?.visible);
  }

  /** A handle on the element the locator names now, to look at again later. */
  async elementHandle() {
    await this.waitFor({ state: 'attached' });
    const [element] = await this.page.query(this.steps);
    const { session } = this.page;
    return {
      evaluate: (fn, arg) => session.execute(fn, element, arg ?? null),
    };
  }
}

function idOf(element) {
  return Object.values(element)[0];
}

/**
 * Runs in the page: the elements `steps` name, in document order. A `state` step, last, turns each
 * element into `{element, visible, disabled}`.
 */
function resolveInPage(steps) {
  const TL = window.TestingLibraryDom;
  if (!TL && steps.some((s) => s.kind === 'role' || s.kind === 'label')) return 'needs-testing-library';
  const fold = (text) => String(text ?? '').replace(/\s+/g, ' ').trim();
  const matches = (matcher, value) => {
    const text = fold(value);
    if (matcher.source !== undefined) return new RegExp(matcher.source, matcher.flags).test(text);
    return matcher.exact ? text === fold(matcher.text) : text.toLowerCase().includes(fold(matcher.text).toLowerCase());
  };
  // The library tests `matcher instanceof Function` against its own realm's Function, and Firefox
  // runs each script in a realm of its own: a matcher is handed over as a function of that realm.
  const LibraryFunction = TL?.queryAllByRole.constructor ?? Function;
  const matcherFor = (test) => new LibraryFunction('test', 'return function (text) { return test(text); };')(test);
  const within = (scopes, find) => {
    const seen = new Set();
    for (const scope of scopes) for (const element of find(scope)) seen.add(element);
    return [...seen].sort((a, b) => (a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1));
  };
  const visible = (element) => {
    const box = element.getBoundingClientRect();
    return box.width > 0 && box.height > 0 && getComputedStyle(element).visibility !== 'hidden';
  };
  let nodes = [document.documentElement];
  for (const step of steps) {
    if (step.kind === 'css') {
      nodes = within(nodes, (scope) => scope.querySelectorAll(step.selector));
    } else if (step.kind === 'role') {
      const name = step.name && matcherFor((accessibleName) => matches(step.name, accessibleName));
      nodes = within(nodes, (scope) => TL.queryAllByRole(scope, step.role, { name, hidden: false }));
    } else if (step.kind === 'label') {
      nodes = within(nodes, (scope) => TL.queryAllByLabelText(scope, matcherFor((label) => matches(step.text, label))));
    } else if (step.kind === 'text') {
      // The innermost elements whose text matches (not every ancestor of them).
      nodes = within(nodes, (scope) => {
        const hits = [...scope.querySelectorAll('*')].filter(
          (el) => !['SCRIPT', 'STYLE', 'TEMPLATE', 'HEAD', 'TITLE'].includes(el.tagName) && matches(step.text, el.textContent),
        );
        return hits.filter((el) => !hits.some((other) => other !== el && el.contains(other)));
      });
    } else if (step.kind === 'hasText') {
      nodes = nodes.filter((el) => matches(step.text, el.textContent));
    } else if (step.kind === 'nth') {
      const element = nodes.at(step.index);
      nodes = element ? [element] : [];
    } else if (step.kind === 'state') {
      return nodes.map((element) => ({ element, visible: visible(element), disabled: Boolean(element.disabled) }));
    }
  }
  return nodes;
}
