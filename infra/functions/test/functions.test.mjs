import test from 'node:test';
import assert from 'node:assert/strict';
import { loadHandler, makeCloudFrontStub, viewerRequest } from './harness.mjs';

// ---------- api-write.js: prefix strip + origin switch from the KeyValueStore ----------

async function runWrite(uri, kvs, method = 'POST') {
    const loaded = loadHandler('api-write.js', makeCloudFrontStub(kvs));
    const request = await loaded.handler(viewerRequest(uri, method));
    return { request, calls: loaded.cf.calls, logs: loaded.logs };
}

test('write path: strips /api so the API sees its own routes', async () => {
    const cases = [
        ['/api/unicorns/basket', '/unicorns/basket'],
        ['/api/unicorns/basket/5c8d1b6e-0000-4000-8000-000000000001', '/unicorns/basket/5c8d1b6e-0000-4000-8000-000000000001'],
        ['/api/user/login', '/user/login'],
        ['/api/orders', '/orders'],
        ['/api/', '/'],
        ['/api', '/']
    ];
    for (const [uri, expected] of cases) {
        const { request } = await runWrite(uri, { active_region: 'us-east-1' });
        assert.equal(request.uri, expected, uri);
    }
});

test('write path: flag us-east-1 keeps the primary origin', async () => {
    const { request, calls } = await runWrite('/api/unicorns/basket', { active_region: 'us-east-1' });
    assert.equal(request.uri, '/unicorns/basket');
    assert.deepEqual(calls.selectRequestOriginById, []);
    assert.deepEqual(calls.updateRequestOrigin, []);
    assert.deepEqual(calls.kvsGet.map((c) => c.key), ['active_region']);
});

test('write path: flag us-west-1 selects the standby API origin', async () => {
    const { request, calls } = await runWrite('/api/user', { active_region: 'us-west-1' });
    assert.equal(request.uri, '/user');
    assert.deepEqual(calls.selectRequestOriginById, ['api-us-west-1']);
});

test('write path: value with surrounding whitespace is accepted', async () => {
    const { calls } = await runWrite('/api/user', { active_region: ' us-west-1\n' });
    assert.deepEqual(calls.selectRequestOriginById, ['api-us-west-1']);
});

test('write path: missing key defaults to the primary', async () => {
    const { request, calls, logs } = await runWrite('/api/unicorns/basket', {});
    assert.equal(request.uri, '/unicorns/basket');
    assert.deepEqual(calls.selectRequestOriginById, []);
    assert.match(logs.join('\n'), /unreadable/);
});

test('write path: unreadable store (get rejects) defaults to the primary', async () => {
    const { calls } = await runWrite('/api/user/login', () => Promise.reject(new Error('throttled')));
    assert.deepEqual(calls.selectRequestOriginById, []);
});

test('write path: store throwing synchronously defaults to the primary', async () => {
    const { calls } = await runWrite('/api/user/login', () => {
        throw new Error('boom');
    });
    assert.deepEqual(calls.selectRequestOriginById, []);
});

test('write path: unknown value defaults to the primary', async () => {
    for (const value of ['eu-west-1', '', 'US-WEST-1', 'standby']) {
        const { calls, logs } = await runWrite('/api/user', { active_region: value });
        assert.deepEqual(calls.selectRequestOriginById, [], JSON.stringify(value));
        assert.match(logs.join('\n'), /unknown active_region/);
    }
});

test('write path: every method is routed the same way', async () => {
    for (const method of ['GET', 'HEAD', 'OPTIONS', 'PUT', 'PATCH', 'POST', 'DELETE']) {
        const { request, calls } = await runWrite('/api/unicorns/basket', { active_region: 'us-west-1' }, method);
        assert.equal(request.method, method);
        assert.equal(request.uri, '/unicorns/basket');
        assert.deepEqual(calls.selectRequestOriginById, ['api-us-west-1']);
    }
});

test('write path: headers, query string and cookies pass through untouched', async () => {
    const loaded = loadHandler('api-write.js', makeCloudFrontStub({ active_region: 'us-west-1' }));
    const event = viewerRequest('/api/orders', 'POST');
    event.request.headers.authorization = { value: 'Bearer abc' };
    event.request.headers['idempotency-key'] = { value: 'k-1' };
    event.request.querystring = { page: { value: '2' } };
    event.request.cookies = { s: { value: '1' } };
    const request = await loaded.handler(event);
    assert.equal(request.headers.authorization.value, 'Bearer abc');
    assert.equal(request.headers['idempotency-key'].value, 'k-1');
    assert.deepEqual(request.querystring, { page: { value: '2' } });
    assert.deepEqual(request.cookies, { s: { value: '1' } });
});

test('write path: stamps x-unishop-received-at with the time of receipt on every method', async () => {
    for (const method of ['GET', 'HEAD', 'OPTIONS', 'PUT', 'PATCH', 'POST', 'DELETE']) {
        const before = Date.now();
        const { request } = await runWrite('/api/orders', { active_region: 'us-east-1' }, method);
        const after = Date.now();
        const stamp = request.headers['x-unishop-received-at'];
        assert.match(stamp.value, /^[0-9]+$/, method);
        assert.ok(Number(stamp.value) >= before && Number(stamp.value) <= after, `${method}: ${stamp.value}`);
    }
});

test('write path: a stamp the viewer sent is replaced, never passed on', async () => {
    for (const sent of [
        { value: '99999999999999' },
        { value: '0' },
        { value: 'tomorrow', multiValue: [{ value: 'tomorrow' }, { value: '99999999999999' }] }
    ]) {
        const loaded = loadHandler('api-write.js', makeCloudFrontStub({ active_region: 'us-west-1' }));
        const event = viewerRequest('/api/cart/items/x', 'PUT');
        event.request.headers['x-unishop-received-at'] = sent;
        const before = Date.now();
        const request = await loaded.handler(event);
        const stamp = request.headers['x-unishop-received-at'];
        assert.deepEqual(Object.keys(stamp), ['value'], JSON.stringify(sent));
        assert.ok(Number(stamp.value) >= before && Number(stamp.value) <= Date.now(), JSON.stringify(sent));
    }
});

// ---------- api-path.js: prefix strip for the read group and /api-standby ----------

test('api path: strips /api and /api-standby, leaves other paths', () => {
    const { handler } = loadHandler('api-path.js');
    const cases = [
        ['/api/unicorns/', '/unicorns/'],
        ['/api/unicorns', '/unicorns'],
        ['/api/unicorns/7d3f0c1a-0000-4000-8000-000000000002', '/unicorns/7d3f0c1a-0000-4000-8000-000000000002'],
        ['/api/categories', '/categories'],
        ['/api-standby/unicorns/basket', '/unicorns/basket'],
        ['/api-standby/user/login', '/user/login'],
        ['/api-standby/health', '/health'],
        ['/api-standby', '/'],
        ['/api', '/'],
        ['/apiary/x', '/apiary/x'],
        ['/api-standbyx/y', '/api-standbyx/y'],
        ['/health', '/health']
    ];
    for (const [uri, expected] of cases) {
        assert.equal(handler(viewerRequest(uri)).uri, expected, uri);
    }
});

test('api path: stamps x-unishop-received-at, replacing a stamp the viewer sent', () => {
    const { handler } = loadHandler('api-path.js');
    for (const [uri, sent] of [
        ['/api-standby/orders', undefined],
        ['/api-standby/cart/merge', { value: '99999999999999' }],
        ['/api/unicorns/', { value: 'x', multiValue: [{ value: 'x' }, { value: '1' }] }]
    ]) {
        const event = viewerRequest(uri, 'POST');
        if (sent) {
            event.request.headers['x-unishop-received-at'] = sent;
        }
        const before = Date.now();
        const stamp = handler(event).headers['x-unishop-received-at'];
        assert.deepEqual(Object.keys(stamp), ['value'], uri);
        assert.ok(Number(stamp.value) >= before && Number(stamp.value) <= Date.now(), `${uri}: ${stamp.value}`);
    }
});

test('api path: does not touch the origin (no cloudfront module)', () => {
    const stub = makeCloudFrontStub({ active_region: 'us-west-1' });
    const { handler } = loadHandler('api-path.js', stub);
    handler(viewerRequest('/api/unicorns/'));
    assert.deepEqual(stub.calls.selectRequestOriginById, []);
    assert.deepEqual(stub.calls.kvsGet, []);
});

// ---------- spa-rewrite.js: prerendered pages, and the shell for the rest ----------

test('spa rewrite: the catalogue and product pages are their prerendered files', () => {
    const { handler } = loadHandler('spa-rewrite.js');
    assert.equal(handler(viewerRequest('/')).uri, '/catalogue.html');
    const product = '/product/7d3f0c1a-0000-4000-8000-000000000002';
    assert.equal(handler(viewerRequest(product)).uri, `${product}.html`);
});

test('spa rewrite: a search of the catalogue gets the shell, where the app applies it', () => {
    const { handler } = loadHandler('spa-rewrite.js');
    const request = viewerRequest('/');
    request.request.querystring = { q: { value: 'float' } };
    assert.equal(handler(request).uri, '/index.html');
});

test('spa rewrite: every other extension-less path goes to the shell, /index.html', () => {
    const { handler } = loadHandler('spa-rewrite.js');
    for (const uri of [
        '/cart',
        '/orders/',
        '/status',
        '/login',
        '/product/7D3F0C1A-0000-4000-8000-000000000002',
        '/product/7d3f0c1a-0000-4000-8000-000000000002/',
        '/product/not-a-uuid',
        '/checkout/shipping'
    ]) {
        assert.equal(handler(viewerRequest(uri)).uri, '/index.html', uri);
    }
});

test('spa rewrite: files pass through', () => {
    const { handler } = loadHandler('spa-rewrite.js');
    for (const uri of [
        '/index.html',
        '/config.json',
        '/unishop-3f2a9c1d0b7e6a54_bg.wasm',
        '/unishop-3f2a9c1d0b7e6a54.js',
        '/style-99aa00bb11cc22dd.css',
        '/images/favicon.svg',
        '/catalogue.html',
        '/product/7d3f0c1a-0000-4000-8000-000000000002.html',
        '/sitemap.xml',
        '/robots.txt',
        '/releases/0123456789ab/index.html'
    ]) {
        assert.equal(handler(viewerRequest(uri)).uri, uri, uri);
    }
});
