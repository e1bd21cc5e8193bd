// A FAKE of the legacy Unishop backend, for the specs only: it is not the original and shares no
// code with it. It is built from the facts in ../shared/reference/legacy-unishop.md: the API
// Gateway stage path (/Production) in every URL, CORS for `*`, no authentication and no token,
// email-only login, a basket that is a set of products keyed by the user's uuid, 200 answers with
// an empty body (Spring style, add) or a JSON string (Lambda style, remove), `null` for a user
// without a basket, no orders, and no region header. It keeps everything in memory and records
// every request so a spec can check what the storefront sent.

import { randomUUID } from 'node:crypto';
import http from 'node:http';

const STAGE = '/Production';

// The seed catalogue under its legacy names, with the same uuids and image paths as our API's
// catalogue (so that images resolve on the site and uuids join in both backends). Every price is
// 100, as in the original; there is no priceCents and no category.
const CATALOGUE = [
  ['5ac3ba4e-7974-568b-bda4-6992f843ea09', 'UnicornFloat', 'pool-float', 'An inflatable unicorn for the pool.'],
  ['31c1059d-f0b2-5e37-9a14-7f253218c834', 'UnicornHipHop', 'kids-tshirt', 'A kids\' t-shirt with a dancing unicorn.'],
  ['21fdedbc-b4d1-55b0-b745-a0ab71f70c1a', 'UnicornPartyDress', 'party-dress', 'A party dress with a unicorn sash.'],
  ['c77a4018-345e-5b9b-91e2-7a2ca4bbb741', 'UnicornGlitter', 'glitter-backpack', 'A glittering unicorn backpack.'],
  ['586bc84b-53ad-564e-8311-4b66ab9dc2bc', 'UnicornBeddings', 'bedding-set', 'A bedding set with unicorns on clouds.'],
  ['338e1467-ed2a-5686-a923-8cabc7a1e3af', 'UnicornPink', 'baby-dress', 'A pink baby dress with a little horn.'],
  ['0a0eb3bd-21eb-54bb-ac77-b04e6a303344', 'UnicornBackpack', 'school-backpack', 'A school backpack with a plush horn.'],
  ['36f94ec9-da45-50bc-9005-a8f3828f3866', 'UnicornBlanket', 'hooded-blanket', 'A hooded blanket with ears and a horn.'],
  ['0b24f5e9-00d4-5796-bf5f-55e08d1b7240', 'UnicornCool', 'mens-shirt', 'A men\'s shirt with unicorns in sunglasses.'],
  ['f22a6ec5-4c82-5aea-9154-8b0c51db2b3d', 'UnicornFluffy', 'slippers', 'Fluffy unicorn slippers.'],
].map(([uuid, name, image, description]) => ({ uuid, name, description, price: 100.0, image: `/images/${image}.svg` }));

const CORS = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET,POST,DELETE,OPTIONS',
  'access-control-allow-headers': 'content-type',
};

/** Starts the fake on 127.0.0.1 and a free port; `host` is what config.json names. */
export async function startLegacyBackend() {
  /** email -> user */
  const users = new Map();
  /** user uuid -> Set of product uuids; a user without a basket has no entry */
  const baskets = new Map();
  /** every request: { method, path, headers, body } (body parsed when JSON) */
  const calls = [];

  const server = http.createServer(async (request, response) => {
    const url = new URL(request.url, 'http://fake');
    const raw = await readBody(request);
    let body;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      body = raw;
    }
    calls.push({ method: request.method, path: url.pathname, headers: request.headers, body });

    const send = (status, payload) => {
      const headers = { ...CORS };
      if (payload === undefined) {
        headers['content-length'] = '0';
        response.writeHead(status, headers);
        response.end();
      } else {
        headers['content-type'] = 'application/json';
        response.writeHead(status, headers);
        response.end(JSON.stringify(payload));
      }
    };

    const route = url.pathname.startsWith(`${STAGE}/`) ? url.pathname.slice(STAGE.length) : null;
    const basketOf = route?.match(/^\/unicorns\/basket\/([^/]+)$/);
    const known =
      route === '/unicorns' || route === '/unicorns/' || route === '/user' || route === '/user/login' ||
      route === '/unicorns/basket' || basketOf;
    if (!known) return send(404, { message: 'Not Found' });
    if (request.method === 'OPTIONS') return send(204);

    if ((route === '/unicorns' || route === '/unicorns/') && request.method === 'GET') {
      return send(200, CATALOGUE);
    }
    if (route === '/user' && request.method === 'POST') {
      const email = emailOf(body);
      if (!email || users.has(email)) return send(400, { message: 'Bad Request' });
      const user = { uuid: randomUUID(), email, firstName: body.firstName, lastName: body.lastName };
      users.set(email, user);
      return send(201, user);
    }
    if (route === '/user/login' && request.method === 'POST') {
      const user = users.get(emailOf(body));
      return user ? send(200, user) : send(400, { message: 'Bad Request' });
    }
    if (route === '/unicorns/basket' && (request.method === 'POST' || request.method === 'DELETE')) {
      const user = body?.uuid;
      const product = body?.unicorns?.[0]?.uuid;
      if (typeof user !== 'string' || typeof product !== 'string') return send(400, { message: 'Bad Request' });
      if (request.method === 'POST') {
        if (!baskets.has(user)) baskets.set(user, new Set());
        baskets.get(user).add(product);
        return send(200); // Spring: an empty body
      }
      const basket = baskets.get(user);
      basket?.delete(product);
      if (basket?.size === 0) baskets.delete(user); // the item goes with its last product
      return send(200, 'Removed Unicorn from basket'); // Lambda: a JSON string
    }
    if (basketOf && request.method === 'GET') {
      const basket = baskets.get(decodeURIComponent(basketOf[1]));
      return send(200, basket ? { uuid: basketOf[1], unicorns: [...basket].map((uuid) => ({ uuid })) } : null);
    }
    return send(404, { message: 'Not Found' });
  });

  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    host: `http://127.0.0.1:${port}${STAGE}`,
    catalogue: CATALOGUE,
    users,
    calls,
    /** The product uuids in a user's basket, or null when the user has none. */
    basket: (userUuid) => (baskets.has(userUuid) ? [...baskets.get(userUuid)].sort() : null),
    stop: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
  };
}

function emailOf(body) {
  return typeof body?.email === 'string' && body.email.includes('@') ? body.email.trim().toLowerCase() : null;
}

function readBody(request) {
  return new Promise((resolve, reject) => {
    let data = '';
    request.setEncoding('utf8');
    request.on('data', (chunk) => { data += chunk; });
    request.on('end', () => resolve(data));
    request.on('error', reject);
  });
}
