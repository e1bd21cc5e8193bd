// A real Unishop stack on loopback for the specs: the API binary on a fresh SQLite file, and a
// small HTTP server playing CloudFront + S3 (serves the release build in dist/, answers deep links
// with index.html, passes /api/ to the API, and shows the specs every request), plus the browser
// of this run (support/browser.mjs: Chromium, Firefox or WebKit).

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { brotliCompressSync } from 'node:zlib';
import { launchBrowser } from './browser.mjs';

export { launchBrowser };

const apiBin = process.env.UNISHOP_API_BIN;
const dist = process.env.UNISHOP_DIST;
if (!apiBin || !dist) {
  throw new Error('set UNISHOP_API_BIN (the unishop-api binary) and UNISHOP_DIST (the release build); `cargo xtask test` does');
}

const CONTENT_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
};

/** Starts the API; resolves once it prints the address it listens on. */
export async function startApi({ region = 'us-east-1', dataDir } = {}) {
  const dir = dataDir ?? mkdtempSync(path.join(tmpdir(), 'unishop-e2e-'));
  const child = spawn(apiBin, [], {
    env: {
      ...process.env,
      UNISHOP_BIND: '127.0.0.1:0',
      UNISHOP_REGION: region,
      UNISHOP_DATABASE_URL: `sqlite://${dir}/unishop.db`,
      RUST_LOG: 'warn',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise((resolve, reject) => {
    let seen = '';
    child.stdout.on('data', (chunk) => {
      seen += chunk;
      const match = seen.match(/listening on (http:\/\/[^\s]+)/);
      if (match) resolve(match[1]);
    });
    child.on('exit', (code) => reject(new Error(`the API exited (${code}) before listening`)));
  });
  return {
    url,
    dataDir: dir,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
    },
    removeData() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The file types CloudFront compresses on the way out (`Compress: true` in edge.yaml). */
const COMPRESSIBLE = new Set(['.html', '.js', '.wasm', '.css', '.svg']);

/**
 * Put into the page's HTML: uncaught errors and unhandled rejections are kept in the tab's
 * sessionStorage (so they survive reloads, as the tab does), as WebDriver reports no page events.
 */
const ERROR_RECORDER = `<script>(function(){function keep(m){var k='unishop.spec-errors';` +
  `var a=JSON.parse(sessionStorage.getItem(k)||'[]');a.push(String(m));sessionStorage.setItem(k,JSON.stringify(a))}` +
  `addEventListener('error',function(e){keep(e.message||e.error)});` +
  `addEventListener('unhandledrejection',function(e){keep(e.reason&&e.reason.message||e.reason)})})()</script>`;

/** The uncaught errors of the pages this tab has shown on a site with `recordErrors`. */
export function pageErrors(page) {
  return page.evaluate(() => JSON.parse(sessionStorage.getItem('unishop.spec-errors') ?? '[]'));
}

/**
 * A server in front of the shop that sees every request the browser sends, as CloudFront would,
 * and can hold answers back: the specs' window on the network in every engine.
 *
 * Serves dist/ (or `root`) like CloudFront in front of S3: `config` replaces dist/config.json, and
 * /api/ goes to whatever `apiUrl()` returns at the time of the request (so a spec can stop the API).
 * With `upstream`, every request goes there instead (the local edge of the two-region stack). With
 * `compress`, files go out brotli-encoded to browsers that accept it, as CloudFront sends them
 * (each file compressed once, on its first request); the specs leave it off. `inject` is HTML put
 * at the start of every page's <head> (a spec's script that runs before the shop's own), and
 * `recordErrors` injects the error recorder. With `prerendered`, `/` and `/product/{uuid}` come
 * from the build's prerendered pages, as through CloudFront (the first-render bench); the specs
 * that need them use the two-region stack, whose edge routes like CloudFront. With
 * `catalogueInPage` false, pages come without the catalogue the build puts in them, as `trunk serve`
 * serves the shell: for the shop's loading and error states, which the built site shows only where
 * it carries no catalogue.
 *
 * `requests` lists every request ({method, pathname, search, headers, at, aborted, abortedAt});
 * `hold(method,
 * pattern)` and `neverAnswer(method, pattern)` take the requests a spec is about.
 */
export async function startSite({ config, apiUrl, upstream, root = dist, compress = false, inject = '', recordErrors = false, prerendered = false, catalogueInPage = true }) {
  const compressed = new Map();
  const requests = [];
  const waiters = [];
  /** Each rule: {method, matches(url), take(request, response, record)}; the newest wins. */
  const rules = [];
  const head = (recordErrors ? ERROR_RECORDER : '') + inject;

  /** Answers from dist/ (or `root`); `deliver(status, headers, body)` gets the answer. */
  const serveFile = (request, url, deliver) => {
    if (url.pathname === '/config.json' && config) {
      deliver(200, { 'content-type': 'application/json', 'cache-control': 'no-cache' }, JSON.stringify(config));
      return;
    }
    let file = path.join(root, path.normalize(decodeURIComponent(url.pathname)));
    // As the CloudFront function does (infra/functions/spa-rewrite.js): `/` without a query string
    // and `/product/{uuid}` from their prerendered pages, when the build has them.
    const page = prerendered && !url.search && (url.pathname === '/' ? 'catalogue.html' : /^\/product\/[0-9a-f-]{36}$/.test(url.pathname) ? `${url.pathname.slice(1)}.html` : null);
    if (page && isFile(path.join(root, page))) file = path.join(root, page);
    if (!file.startsWith(root) || !isFile(file)) {
      // A client-side route: the single page answers every extension-less path.
      file = path.extname(url.pathname) ? null : path.join(root, 'index.html');
    }
    if (!file) {
      deliver(404, { 'content-type': 'text/plain' }, 'not found');
      return;
    }
    const headers = {
      'content-type': CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream',
      'cache-control': 'no-cache',
    };
    let body = readFileSync(file);
    if (path.extname(file) === '.html' && (head || !catalogueInPage)) {
      let html = String(body).replace(/<head>/i, `<head>${head}`);
      if (!catalogueInPage) html = html.replace(/<script type="application\/json" id="unishop-catalogue">.*?<\/script>/s, '');
      body = Buffer.from(html);
    }
    if (compress && COMPRESSIBLE.has(path.extname(file)) && /\bbr\b/.test(request.headers['accept-encoding'] ?? '')) {
      if (!compressed.has(file)) compressed.set(file, brotliCompressSync(body));
      body = compressed.get(file);
      headers['content-encoding'] = 'br';
      headers.vary = 'accept-encoding';
    }
    deliver(200, headers, body);
  };

  /** Answers the request from wherever it goes: the upstream, the API or the files. */
  const forward = (request, response, url, deliver) => {
    if (upstream) return fetchWhole(request, response, new URL(url.pathname + url.search, upstream), deliver);
    if (url.pathname.startsWith('/api/')) {
      return fetchWhole(request, response, apiUrl() && new URL(url.pathname.slice(4) + url.search, apiUrl()), deliver);
    }
    return serveFile(request, url, deliver);
  };

  const server = http.createServer((request, response) => {
    const url = new URL(request.url, 'http://site');
    const record = {
      method: request.method,
      pathname: url.pathname,
      search: url.search,
      headers: request.headers,
      at: Date.now(),
      aborted: false,
      abortedAt: null,
    };
    requests.push(record);
    response.once('close', () => {
      if (!response.writableFinished) {
        record.aborted = true;
        record.abortedAt = Date.now();
      }
    });
    for (const waiter of [...waiters]) {
      if (waiter.matches(record)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(record);
      }
    }
    const rule = rules.findLast((r) => r.method === request.method && r.matches(url.pathname));
    if (rule) {
      rule.take(request, response, url);
      return;
    }
    forward(request, response, url, (status, headers, body) => {
      if (response.destroyed) return;
      response.writeHead(status, headers);
      response.end(body);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    /** Resolves with the first request from now on for which `matches(record)` holds. */
    waitForRequest: (matches) => new Promise((resolve) => waiters.push({ matches, resolve })),
    /**
     * Holds the answers to requests of `method` whose path matches `pattern` (a glob with `*` and
     * `**`): each request reaches the API at once, and its answer reaches the browser only when
     * `release(n)` is called for it (n counts from 0). `stop()` lets later requests through.
     */
    hold(method, pattern) {
      const matches = globMatcher(pattern);
      const calls = [];
      const call = (n) => (calls[n] ??= { answered: deferred(), release: deferred(), delivered: deferred() });
      let seen = 0;
      const rule = {
        method,
        matches,
        take: (request, response, url) => {
          const held = call(seen++);
          forward(request, response, url, async (status, headers, body) => {
            held.answered.resolve();
            await held.release.promise;
            if (!response.destroyed) {
              response.writeHead(status, headers);
              response.end(body);
            }
            held.delivered.resolve();
          });
        },
      };
      rules.push(rule);
      return {
        /** Resolves once request `n` has reached the API and been answered (not yet delivered). */
        answered: (n) => call(n).answered.promise,
        /** Lets answer `n` go to the browser; resolves once it has been written. */
        async release(n) {
          call(n).release.resolve();
          await call(n).delivered.promise;
        },
        stop() {
          rules.splice(rules.indexOf(rule), 1);
          calls.forEach((c) => c?.release.resolve());
        },
      };
    },
    /** Requests of `method` to `pattern` get no answer at all until the browser gives up on them. */
    neverAnswer(method, pattern) {
      const rule = { method, matches: globMatcher(pattern), take: () => {} };
      rules.push(rule);
      return { stop: () => rules.splice(rules.indexOf(rule), 1) };
    },
    stop: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
  };
}

/** A path pattern: `*` stands for one path segment's characters, `**` for anything. */
function globMatcher(pattern) {
  const source = pattern
    .split(/(\*\*|\*)/)
    .map((part) => (part === '**' ? '.*' : part === '*' ? '[^/]*' : part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  const regex = new RegExp(`^${source}$`);
  return (pathname) => regex.test(pathname);
}

/** A promise and the function that resolves it: a spec holds an answer back until it says so. */
export function deferred() {
  let resolve;
  const promise = new Promise((r) => { resolve = r; });
  return { promise, resolve };
}

function isFile(file) {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** Forwards `request` to `target` and hands the whole answer to `deliver` (502 without one). */
function fetchWhole(request, response, target, deliver) {
  if (!target) {
    deliver(502, { 'content-type': 'text/plain' }, 'no API is running');
    return;
  }
  const upstream = http.request(
    target,
    { method: request.method, headers: { ...request.headers, host: target.host } },
    (answer) => {
      const chunks = [];
      answer.on('data', (chunk) => chunks.push(chunk));
      answer.on('end', () => deliver(answer.statusCode, answer.headers, Buffer.concat(chunks)));
      answer.on('error', () => deliver(502, { 'content-type': 'text/plain' }, 'the API broke off its answer'));
    },
  );
  upstream.on('error', () => deliver(502, { 'content-type': 'text/plain' }, 'the API did not answer'));
  // The browser gave up: so does the request upstream, as CloudFront's would.
  response.once('close', () => {
    if (!response.writableFinished) upstream.destroy();
  });
  request.pipe(upstream);
}

/** The usual stack of a spec against our API: the API, the site in front of it (`host: '/api'`,
 * region us-east-1), Chromium, and the catalogue as the API serves it. `stop()` ends all of it. */
export async function startStack() {
  const api = await startApi({ region: 'us-east-1' });
  const site = await startSite({ config: { host: '/api', region: 'us-east-1' }, apiUrl: () => api.url, recordErrors: true });
  const browser = await launchBrowser();
  const products = await (await fetch(`${api.url}/unicorns/`)).json();
  return {
    api,
    site,
    browser,
    products,
    async stop() {
      await browser.close();
      await site.stop();
      await api.stop();
      api.removeData();
    },
  };
}
