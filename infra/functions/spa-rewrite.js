// Unishop storefront deep links (viewer request, cloudfront-js-2.0), attached to the default behavior
// (origin group of the two site buckets).
//
// The storefront routes in the browser, so `/product/<uuid>` or `/cart` must be answered with
// `/index.html`. A path whose last segment has no file extension is rewritten to `/index.html`;
// files (`/config.json`, `/unishop-<hash>_bg.wasm`, `/images/x.svg`) pass through unchanged. The
// rewrite happens before the cache lookup, so every deep link shares the one cached `/index.html`.
// A distribution-wide custom error page would do the same for 403/404 but would also rewrite the API's
// errors, so it is not used.
//
// The same file runs unchanged in CloudFront and in the node tests (test/harness.mjs).

function handler(event) {
    const request = event.request;
    const uri = request.uri;
    const lastSegment = uri.substring(uri.lastIndexOf('/') + 1);
    if (lastSegment.indexOf('.') === -1) {
        request.uri = '/index.html';
    }
    return request;
}
