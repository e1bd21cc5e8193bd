// A real Unishop stack on loopback for the specs: the API binary on a fresh SQLite file, and a
// small HTTP server playing CloudFront + S3 (serves the release build in dist/, answers deep links
// with index.html, passes /api/ to the API), plus Debian's Chromium driven by playwright-core.

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { brotliCompressSync } from 'node:zlib';
import { chromium } from 'playwright-core';

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
 * Serves dist/ (or `root`) like CloudFront in front of S3: `config` replaces dist/config.json, and
 * /api/ goes to whatever `apiUrl()` returns at the time of the request (so a spec can stop the API).
 * With `compress`, files go out brotli-encoded to browsers that accept it, as CloudFront sends them
 * (each file compressed once, on its first request); the specs leave it off.
 */
export async function startSite({ config, apiUrl, root = dist, compress = false }) {
  const compressed = new Map();
  const server = http.createServer((request, response) => {
    const url = new URL(request.url, 'http://site');
    if (url.pathname.startsWith('/api/')) {
      proxy(request, response, apiUrl(), url.pathname.slice(4) + url.search);
      return;
    }
    if (url.pathname === '/config.json') {
      response.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache' });
      response.end(JSON.stringify(config));
      return;
    }
    let file = path.join(root, path.normalize(decodeURIComponent(url.pathname)));
    if (!file.startsWith(root) || !isFile(file)) {
      // A client-side route: the single page answers every extension-less path.
      file = path.extname(url.pathname) ? null : path.join(root, 'index.html');
    }
    if (!file) {
      response.writeHead(404, { 'content-type': 'text/plain' });
      response.end('not found');
      return;
    }
    const headers = {
      'content-type': CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream',
      'cache-control': 'no-cache',
    };
    let body = readFileSync(file);
    if (compress && COMPRESSIBLE.has(path.extname(file)) && /\bbr\b/.test(request.headers['accept-encoding'] ?? '')) {
      if (!compressed.has(file)) compressed.set(file, brotliCompressSync(body));
      body = compressed.get(file);
      headers['content-encoding'] = 'br';
      headers.vary = 'accept-encoding';
    }
    response.writeHead(200, headers);
    response.end(body);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
  };
}

function isFile(file) {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

function proxy(request, response, target, pathAndQuery) {
  if (!target) {
    response.writeHead(502, { 'content-type': 'text/plain' });
    response.end('no API is running');
    return;
  }
  const upstream = http.request(
    new URL(pathAndQuery, target),
    { method: request.method, headers: { ...request.headers, host: new URL(target).host } },
    (answer) => {
      response.writeHead(answer.statusCode, answer.headers);
      answer.pipe(response);
    },
  );
  upstream.on('error', () => {
    if (!response.headersSent) response.writeHead(502, { 'content-type': 'text/plain' });
    response.end('the API did not answer');
  });
  request.pipe(upstream);
}

/** Debian's Chromium, headless, with the flags that keep it off the network. Each page opened with
 * `newPage()` lives in a fresh context: its own storage and HTTP cache, as a new visitor. */
export async function launchBrowser() {
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

/** The usual stack of a spec against our API: the API, the site in front of it (`host: '/api'`,
 * region us-east-1), Chromium, and the catalogue as the API serves it. `stop()` ends all of it. */
export async function startStack() {
  const api = await startApi({ region: 'us-east-1' });
  const site = await startSite({ config: { host: '/api', region: 'us-east-1' }, apiUrl: () => api.url });
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
