// Unishop API path rewrite (viewer request, cloudfront-js-2.0), attached to the catalogue read
// behaviors (`/api/unicorns*`, `/api/categories*`, origin group of both regional APIs) and to
// `/api-standby/*` (always the standby API).
//
// The API serves its routes at the root, and CloudFront forwards the viewer's path unchanged, so the
// `/api` or `/api-standby` prefix is removed here: `/api/unicorns/` -> `/unicorns/`,
// `/api-standby/user/login` -> `/user/login`, `/api` -> `/`. Any other path is left alone.
//
// Like api-write.js it stamps `x-unishop-received-at` (milliseconds since the epoch), replacing any
// value the viewer sent: a write resent to `/api-standby` counts its deadline from CloudFront too.
//
// The same file runs unchanged in CloudFront and in the node tests (test/harness.mjs).

const PREFIXES = ['/api-standby', '/api'];
// unishop_model::RECEIVED_AT_HEADER
const RECEIVED_AT_HEADER = 'x-unishop-received-at';

function stripApiPrefix(uri) {
    for (let i = 0; i < PREFIXES.length; i++) {
        const prefix = PREFIXES[i];
        if (uri === prefix) {
            return '/';
        }
        if (uri.startsWith(prefix + '/')) {
            return uri.substring(prefix.length);
        }
    }
    return uri;
}

function handler(event) {
    const request = event.request;
    request.headers[RECEIVED_AT_HEADER] = { value: String(Date.now()) };
    request.uri = stripApiPrefix(request.uri);
    return request;
}
