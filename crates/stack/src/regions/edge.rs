//! The local edge: CloudFront and the two site buckets in one small HTTP server, routing as
//! `infra/templates/edge.yaml` does (the same table is in README.md, "Two regions on one machine"):
//!
//! | path | methods | origin |
//! |---|---|---|
//! | `/api/unicorns/basket*` | all | the active region (below) |
//! | `/api/unicorns*`, `/api/categories*` | GET, HEAD, OPTIONS | origin group: us-east-1, then us-west-1 on 500/502/503/504, a timeout or a refused connection |
//! | `/api/*` (everything else) | all | the region named by the active-region flag (`cargo xtask failover --local` flips it) |
//! | `/api-standby/*` | all | always us-west-1 |
//! | `/config.json` | | `{"host": "/api", "region": "us-east-1", "standbyHost": "/api-standby"}` |
//! | `/` (no query string), `/product/{uuid}` | | the prerendered page, `catalogue.html` or `product/{uuid}.html` (404 with the shell when a prerendered site has no such product) |
//! | anything else | | a file of `dist/`, else `index.html`, the shell (the routes of one shopper) |
//!
//! Each origin has CloudFront's timeouts from `edge.yaml` ([`PRIMARY_TIMEOUTS`],
//! [`STANDBY_TIMEOUTS`]; the read timeout here bounds the whole exchange), so the local stack costs
//! a shopper what the deployed one does.
//!
//! Like CloudFront's origin custom header, the edge adds [`ORIGIN_SECRET_HEADER`] with the stack's
//! [`origin_secret`] to every request it sends to an API, replacing any value the viewer sent; the
//! stack starts both APIs with it, so they answer only through the edge (`/health` aside), as in
//! AWS.

use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};

use unishop_model::{ORIGIN_SECRET_HEADER, RECEIVED_AT_HEADER};

use super::{ActiveRegion, PRIMARY_REGION, STANDBY_REGION};

/// How long CloudFront waits on an origin: to connect, then for the answer.
#[derive(Clone, Copy, Debug)]
pub struct OriginTimeouts {
    pub connect: Duration,
    pub read: Duration,
}

/// `edge.yaml`'s `api-us-east-1` origin: `ConnectionTimeout: 1`, `OriginReadTimeout: 2`
/// (`ConnectionAttempts: 1`).
pub const PRIMARY_TIMEOUTS: OriginTimeouts = OriginTimeouts {
    connect: Duration::from_secs(1),
    read: Duration::from_secs(2),
};

/// `edge.yaml`'s `api-us-west-1` origin: `ConnectionTimeout: 2`, `OriginReadTimeout: 6`.
pub const STANDBY_TIMEOUTS: OriginTimeouts = OriginTimeouts {
    connect: Duration::from_secs(2),
    read: Duration::from_secs(6),
};

/// The origin secret of this process's stacks: made up once (32 letters and digits), given to the
/// APIs as `UNISHOP_ORIGIN_SECRET` and sent by the edge. A local stand-in for the global stack's
/// Secrets Manager secret: not from a cryptographic generator, and never rotated.
pub fn origin_secret() -> &'static str {
    static SECRET: OnceLock<String> = OnceLock::new();
    SECRET.get_or_init(|| {
        std::iter::repeat_with(fastrand::alphanumeric)
            .take(32)
            .collect()
    })
}

/// The largest request body the edge passes on (the API refuses more than 64 KiB anyway).
const BODY_LIMIT: usize = 1024 * 1024;

/// One API region as the edge reaches it.
struct Origin {
    region: &'static str,
    base: String,
    client: reqwest::Client,
    read_timeout: Duration,
}

impl Origin {
    fn new(region: &'static str, base: String, timeouts: OriginTimeouts) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .connect_timeout(timeouts.connect)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("edge: cannot build an HTTP client: {e}"))?;
        Ok(Origin {
            region,
            base,
            client,
            read_timeout: timeouts.read,
        })
    }
}

/// Why an origin gave no usable answer: what CloudFront answers the viewer in its place.
enum OriginFailure {
    /// Refused or reset: 502.
    Unreachable,
    /// No answer within the read timeout: 504.
    TimedOut,
}

impl OriginFailure {
    fn into_response(self, region: &str) -> Response {
        let (status, text) = match self {
            OriginFailure::Unreachable => (StatusCode::BAD_GATEWAY, "could not connect to"),
            OriginFailure::TimedOut => (StatusCode::GATEWAY_TIMEOUT, "no answer in time from"),
        };
        (status, format!("edge: {text} the API in {region}\n")).into_response()
    }
}

/// The request as the edge received it, kept whole so that an origin group can send it twice.
struct Forward {
    /// When the edge received the request (ms since the Unix epoch), sent on as
    /// [`RECEIVED_AT_HEADER`] as CloudFront's write path would.
    received_at_ms: u128,
    method: Method,
    path_and_query: String,
    headers: HeaderMap,
    body: Bytes,
}

pub struct Edge {
    primary: Origin,
    standby: Origin,
    active: ActiveRegion,
    dist: PathBuf,
    config_json: String,
    /// The site's CSP, sent with the site's files as CloudFront's response headers policy does,
    /// under the header [`csp_header`] names.
    content_security_policy: (HeaderName, HeaderValue),
}

impl Edge {
    pub fn new(
        primary_base: String,
        standby_base: String,
        active: ActiveRegion,
        dist: PathBuf,
    ) -> Result<Self, String> {
        Ok(Edge {
            primary: Origin::new(PRIMARY_REGION, primary_base, PRIMARY_TIMEOUTS)?,
            standby: Origin::new(STANDBY_REGION, standby_base, STANDBY_TIMEOUTS)?,
            active,
            dist,
            config_json: crate::site::config_json("/api", PRIMARY_REGION, "/api-standby"),
            content_security_policy: (csp_header()?, site_csp()?),
        })
    }

    /// Serves until the listener's runtime stops.
    pub async fn serve(self, listener: tokio::net::TcpListener) -> Result<(), String> {
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(Arc::new(self));
        axum::serve(listener, app)
            .await
            .map_err(|e| format!("edge: {e}"))
    }

    fn origin(&self, region: &str) -> &Origin {
        if region == STANDBY_REGION {
            &self.standby
        } else {
            &self.primary
        }
    }
}

async fn handle(State(edge): State<Arc<Edge>>, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    let query = request
        .uri()
        .query()
        .map(|q| format!("?{q}"))
        .unwrap_or_default();
    if let Some(rest) = api_path(&path, "/api-standby") {
        let forward = match read_request(request, rest, &query).await {
            Ok(forward) => forward,
            Err(response) => return response,
        };
        return send_or_fail(&edge.standby, &forward).await;
    }
    if let Some(rest) = api_path(&path, "/api") {
        let read = is_catalogue_read(request.method(), rest);
        let forward = match read_request(request, rest, &query).await {
            Ok(forward) => forward,
            Err(response) => return response,
        };
        if read {
            // The origin group: the primary, then the standby on the failover criteria.
            return match send(&edge.primary, &forward).await {
                Ok(answer) if !is_failover_status(answer.status()) => answer,
                _ => send_or_fail(&edge.standby, &forward).await,
            };
        }
        let region = edge.active.get();
        return send_or_fail(edge.origin(&region), &forward).await;
    }
    let mut response = if path == "/config.json" {
        (
            [
                ("content-type", "application/json"),
                ("cache-control", "no-cache"),
            ],
            edge.config_json.clone(),
        )
            .into_response()
    } else {
        static_file(&edge.dist, &path, query.is_empty()).await
    };
    let (name, value) = &edge.content_security_policy;
    response.headers_mut().insert(name.clone(), value.clone());
    response
}

/// The variable that makes the edge send its CSP as `Content-Security-Policy-Report-Only`
/// (`report-only`) rather than enforce it (`enforce`, the default).
pub const CSP_MODE_VARIABLE: &str = "UNISHOP_STACK_CSP";

/// The CSP's header: enforced, as CloudFront sends it, unless [`CSP_MODE_VARIABLE`] says
/// `report-only`. The browser specs ask for that in WebKit only: WebKitGTK's WebDriver runs a
/// spec's scripts (Execute Script) under the page's CSP, which allows no `eval`, where Chromium's
/// and Firefox's run them outside it; so the CSP is proven in those two engines.
fn csp_header() -> Result<HeaderName, String> {
    match std::env::var(CSP_MODE_VARIABLE).as_deref() {
        Err(_) | Ok("enforce") => Ok(HeaderName::from_static("content-security-policy")),
        Ok("report-only") => Ok(HeaderName::from_static(
            "content-security-policy-report-only",
        )),
        Ok(other) => Err(format!(
            "{CSP_MODE_VARIABLE} is enforce or report-only, not {other:?}"
        )),
    }
}

/// The CSP of `infra/templates/edge.yaml`, as a header value.
fn site_csp() -> Result<HeaderValue, String> {
    let csp = crate::site::content_security_policy(&crate::process::repo_root())?;
    HeaderValue::from_str(&csp).map_err(|e| format!("the site's CSP is no header value: {e}"))
}

/// The path below `prefix` (`/api/x` -> `/x`), when the request is for that prefix.
fn api_path<'a>(path: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = path.strip_prefix(prefix)?;
    (rest.is_empty() || rest.starts_with('/')).then_some(if rest.is_empty() { "/" } else { rest })
}

/// The behaviours `/api/unicorns*` and `/api/categories*` with GET, HEAD or OPTIONS: the ones
/// `edge.yaml` gives to the origin group.
fn is_catalogue_read(method: &Method, rest: &str) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
        && !rest.starts_with("/unicorns/basket")
        && (rest.starts_with("/unicorns") || rest.starts_with("/categories"))
}

/// `edge.yaml`'s `api-read-group` failover criteria.
fn is_failover_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 500 | 502 | 503 | 504)
}

async fn read_request(request: Request, rest: &str, query: &str) -> Result<Forward, Response> {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, BODY_LIMIT).await.map_err(|_| {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            "edge: request body too large\n",
        )
            .into_response()
    })?;
    Ok(Forward {
        received_at_ms: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |now| now.as_millis()),
        method: parts.method,
        path_and_query: format!("{rest}{query}"),
        headers: parts.headers,
        body,
    })
}

async fn send_or_fail(origin: &Origin, forward: &Forward) -> Response {
    match send(origin, forward).await {
        Ok(answer) => answer,
        Err(failure) => failure.into_response(origin.region),
    }
}

/// Sends the request to one origin with that origin's timeouts. When the answer is late the
/// viewer gets its 504, but the request itself runs on to its end, as a Lambda does after
/// CloudFront gives up on it: the API process never sees its request cancelled halfway.
async fn send(origin: &Origin, forward: &Forward) -> Result<Response, OriginFailure> {
    let url = format!("{}{}", origin.base, forward.path_and_query);
    let mut request = origin
        .client
        .request(forward.method.clone(), url)
        .body(forward.body.clone());
    for (name, value) in &forward.headers {
        if !is_hop_by_hop(name) && name != RECEIVED_AT_HEADER && name != ORIGIN_SECRET_HEADER {
            request = request.header(name, value);
        }
    }
    request = request
        .header(RECEIVED_AT_HEADER, forward.received_at_ms.to_string())
        .header(ORIGIN_SECRET_HEADER, origin_secret());
    let exchange = tokio::spawn(async move {
        let answer = request.send().await?;
        let status = answer.status();
        let headers = answer.headers().clone();
        let body = answer.bytes().await?;
        Ok::<_, reqwest::Error>((status, headers, body))
    });
    let (status, headers, body) = match tokio::time::timeout(origin.read_timeout, exchange).await {
        Ok(Ok(Ok(answer))) => answer,
        Ok(Ok(Err(e))) if e.is_timeout() => return Err(OriginFailure::TimedOut),
        Ok(_) => return Err(OriginFailure::Unreachable),
        Err(_) => return Err(OriginFailure::TimedOut),
    };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    for (name, value) in &headers {
        if !is_hop_by_hop(name) && name != "content-length" {
            response.headers_mut().append(name.clone(), value.clone());
        }
    }
    Ok(response)
}

fn is_hop_by_hop(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "host" | "connection" | "keep-alive" | "transfer-encoding" | "te" | "upgrade" | "trailer"
    )
}

/// The prerendered page of a path, as `spa-rewrite.js` rewrites it: `/` without a query string
/// is `catalogue.html` (a search is applied by the app, from the shell), `/product/{uuid}` with a
/// lower-case uuid `product/{uuid}.html`.
pub fn prerendered_page(path: &str, no_query: bool) -> Option<String> {
    if path == "/" {
        return no_query.then(|| "catalogue.html".to_owned());
    }
    let id = path.strip_prefix("/product/")?;
    let canonical = uuid::Uuid::parse_str(id)
        .ok()
        .is_some_and(|uuid| uuid.hyphenated().to_string() == id);
    canonical.then(|| format!("product/{id}.html"))
}

/// A file of `dist/`: a route's prerendered page ([`prerendered_page`]); a path without an
/// extension that names no file is one of the routes of one shopper and gets the shell,
/// `index.html` (as `spa-rewrite.js` does). In a site that was not prerendered (Trunk's own
/// build, which `cargo xtask dev --two-regions` watches) every route gets the shell.
async fn static_file(dist: &Path, path: &str, no_query: bool) -> Response {
    let prerendered = dist.join("catalogue.html").is_file();
    if let Some(page) = prerendered_page(path, no_query).filter(|_| prerendered) {
        let file = dist.join(&page);
        if file.is_file() {
            return file_response(&file, StatusCode::OK).await;
        }
        // No such product: the shell, which shows the shop's not-found page.
        return file_response(&dist.join("index.html"), StatusCode::NOT_FOUND).await;
    }
    let relative = path.trim_start_matches('/');
    let safe = Path::new(relative)
        .components()
        .all(|c| matches!(c, Component::Normal(_)));
    let mut file = dist.join(if relative.is_empty() {
        "index.html"
    } else {
        relative
    });
    if !safe || !file.is_file() {
        let has_extension = relative.rsplit('/').next().is_some_and(|n| n.contains('.'));
        if has_extension || !safe {
            return (StatusCode::NOT_FOUND, "not found\n").into_response();
        }
        file = dist.join("index.html");
    }
    file_response(&file, StatusCode::OK).await
}

async fn file_response(file: &Path, status: StatusCode) -> Response {
    let key = file.to_string_lossy().into_owned();
    match tokio::fs::read(&file).await {
        Ok(bytes) => {
            let content_type =
                crate::site::content_type(&key).unwrap_or("application/octet-stream");
            let mut response = Response::new(Body::from(bytes));
            *response.status_mut() = status;
            let headers = response.headers_mut();
            headers.insert("content-type", HeaderValue::from_static(content_type));
            headers.insert("cache-control", HeaderValue::from_static("no-cache"));
            response
        }
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "edge: the storefront is not built yet (dist/ is empty)\n",
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::{Method, StatusCode};

    use std::path::{Path, PathBuf};

    use unishop_model::ORIGIN_SECRET_HEADER;

    use super::{
        api_path, is_catalogue_read, is_failover_status, origin_secret, prerendered_page, Edge,
    };
    use crate::regions::ActiveRegion;

    #[test]
    fn api_paths_keep_their_leading_slash() {
        assert_eq!(api_path("/api/unicorns/", "/api"), Some("/unicorns/"));
        assert_eq!(api_path("/api", "/api"), Some("/"));
        assert_eq!(api_path("/api-standby/cart", "/api"), None);
        assert_eq!(api_path("/api-standby/cart", "/api-standby"), Some("/cart"));
        assert_eq!(api_path("/apix", "/api"), None);
    }

    #[test]
    fn only_catalogue_reads_go_to_the_origin_group() {
        assert!(is_catalogue_read(&Method::GET, "/unicorns/"));
        assert!(is_catalogue_read(&Method::HEAD, "/categories"));
        assert!(!is_catalogue_read(&Method::POST, "/unicorns/basket"));
        assert!(!is_catalogue_read(&Method::GET, "/cart"));
        assert!(!is_catalogue_read(&Method::GET, "/health"));
        // `/api/unicorns/basket*` is a behaviour of its own, ahead of the reads.
        assert!(!is_catalogue_read(&Method::GET, "/unicorns/basket/x"));
    }

    #[test]
    fn the_catalogue_and_product_pages_are_prerendered_files() {
        let uuid = "5ac3ba4e-7974-568b-bda4-6992f843ea09";
        assert_eq!(
            prerendered_page("/", true).as_deref(),
            Some("catalogue.html")
        );
        assert_eq!(
            prerendered_page("/", false),
            None,
            "a search goes to the shell"
        );
        assert_eq!(
            prerendered_page(&format!("/product/{uuid}"), true),
            Some(format!("product/{uuid}.html"))
        );
        for shell in [
            format!("/product/{}", uuid.to_uppercase()),
            format!("/product/{uuid}/"),
            "/product/not-a-uuid".to_owned(),
            "/cart".to_owned(),
            "/index.html".to_owned(),
            "/catalogue.html".to_owned(),
        ] {
            assert_eq!(prerendered_page(&shell, true), None, "{shell}");
        }
    }

    /// What the API behind the edge receives: the stack's secret, never the viewer's.
    #[tokio::test]
    async fn the_edge_sends_the_origin_secret_in_place_of_the_viewers() {
        let echo = axum::Router::new().fallback(|headers: axum::http::HeaderMap| async move {
            headers
                .get(ORIGIN_SECRET_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("none")
                .to_owned()
        });
        let api = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binds");
        let api_base = format!("http://{}", api.local_addr().expect("address"));
        tokio::spawn(async move { axum::serve(api, echo).await });
        let edge = Edge::new(
            api_base.clone(),
            api_base,
            ActiveRegion::in_folder(Path::new("/nonexistent")),
            PathBuf::new(),
        )
        .expect("an edge");
        let site = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binds");
        let site_base = format!("http://{}", site.local_addr().expect("address"));
        tokio::spawn(edge.serve(site));
        let client = reqwest::Client::new();
        for path in ["/api/cart", "/api/unicorns", "/api-standby/user/login"] {
            let received = client
                .get(format!("{site_base}{path}"))
                .header(ORIGIN_SECRET_HEADER, "forged-by-the-viewer")
                .send()
                .await
                .expect("answers")
                .text()
                .await
                .expect("a body");
            assert_eq!(received, origin_secret(), "{path}");
        }
        assert_eq!(origin_secret().len(), 32);
    }

    #[test]
    fn the_failover_criteria_are_edge_yamls() {
        for code in [500, 502, 503, 504] {
            assert!(is_failover_status(
                StatusCode::from_u16(code).expect("status")
            ));
        }
        for code in [200, 404, 409, 501] {
            assert!(!is_failover_status(
                StatusCode::from_u16(code).expect("status")
            ));
        }
    }
}
