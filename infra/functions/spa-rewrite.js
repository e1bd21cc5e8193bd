// Unishop storefront pages (viewer request, cloudfront-js-2.0), attached to the default behavior
// (origin group of the two site buckets).
//
// The build (`cargo xtask build`) prerenders the catalogue and every product page; every other
// route (cart, account, checkout, orders, status, not found) is the shell, `/index.html`, in which
// the storefront mounts and routes in the browser. So:
// - `/` without a query string is `/catalogue.html` (a search is applied by the app, from the shell);
// - `/product/<uuid>` with a lower-case uuid is `/product/<uuid>.html`; a product the build did not
//   prerender is missing from the bucket, which answers 403/404;
// - any other path whose last segment has no file extension is `/index.html`;
// - files (`/config.json`, `/unishop-<hash>_bg.wasm`, `/images/x.svg`, `/sitemap.xml`) pass through.
// The rewrite happens before the cache lookup, so every shell route shares the one cached
// `/index.html`. A distribution-wide custom error page would do the same for 403/404 but would
// also rewrite the API's errors, so it is not used.
//
// The same file runs unchanged in CloudFront and in the node tests (test/harness.mjs); the local
// edge (crates/stack/src/regions/edge.rs) routes the same way.

var PRODUCT = /^\/product\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function handler(event) {
    const request = event.request;
    const uri = request.uri;
    if (uri === '/') {
        request.uri = Object.keys(request.querystring || {}).length === 0 ? '/catalogue.html' : '/index.html';
        return request;
    }
    if (PRODUCT.test(uri)) {
        request.uri = uri + '.html';
        return request;
    }
    const lastSegment = uri.substring(uri.lastIndexOf('/') + 1);
    if (lastSegment.indexOf('.') === -1) {
        request.uri = '/index.html';
    }
    return request;
}
