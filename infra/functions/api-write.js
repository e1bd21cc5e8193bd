import cf from 'cloudfront';

// Unishop write path (viewer request, cloudfront-js-2.0), attached to `/api/unicorns/basket*` and `/api/*`.
//
// 1. Strips the `/api` prefix: the API serves its routes at the root (`/api/unicorns/basket` -> `/unicorns/basket`).
// 2. Chooses the API origin from the CloudFront KeyValueStore key `active_region`, which the failover
//    runbook (`cargo xtask failover`) flips. The behavior's own origin is the primary API; when the key
//    names the standby region, the request is sent to the standby API origin, selected by its origin id
//    in the distribution (so it keeps that origin's TLS and timeout settings). A missing key, an unknown
//    value or an unreadable store keeps the primary: the store starts empty and must never break writes.
// 3. Stamps `x-unishop-received-at` with the time CloudFront received the request (milliseconds since the
//    epoch), replacing any value the viewer sent. The API counts a write's deadline from it, so a request
//    that waited in a hung region's socket is refused when the region resumes, not applied over newer writes.
//
// The same file runs unchanged in CloudFront and in the node tests (test/harness.mjs).

const kvsHandle = cf.kvs();

const FLAG_KEY = 'active_region';
const PRIMARY_REGION = 'us-east-1';
// unishop_model::RECEIVED_AT_HEADER
const RECEIVED_AT_HEADER = 'x-unishop-received-at';
// Region named by the flag -> origin id in the distribution (templates/edge.yaml).
const API_ORIGINS = {
    'us-east-1': 'api-us-east-1',
    'us-west-1': 'api-us-west-1'
};

function stripPrefix(uri, prefix) {
    if (uri === prefix) {
        return '/';
    }
    if (uri.startsWith(prefix + '/')) {
        return uri.substring(prefix.length);
    }
    return uri;
}

async function activeRegion() {
    try {
        const value = await kvsHandle.get(FLAG_KEY);
        const region = String(value).trim();
        if (API_ORIGINS[region]) {
            return region;
        }
        console.log('unishop: unknown ' + FLAG_KEY + ' value, using ' + PRIMARY_REGION);
    } catch (err) {
        console.log('unishop: ' + FLAG_KEY + ' unreadable (' + err + '), using ' + PRIMARY_REGION);
    }
    return PRIMARY_REGION;
}

async function handler(event) {
    const request = event.request;
    request.headers[RECEIVED_AT_HEADER] = { value: String(Date.now()) };
    request.uri = stripPrefix(request.uri, '/api');
    const region = await activeRegion();
    if (region !== PRIMARY_REGION) {
        cf.selectRequestOriginById(API_ORIGINS[region]);
    }
    return request;
}
