//! The HTTP surface: one module per resource, one [`error::Error`] for every failure.

pub mod auth;
pub mod basket;
pub mod cart;
pub mod error;
pub mod health;
pub mod idempotency;
pub mod json;
pub mod openapi;
pub mod orders;
pub mod origin;
pub mod request_id;
pub mod snapshot;
pub mod unicorns;
pub mod users;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{header, HeaderName, HeaderValue, Method, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowHeaders, Any, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use unishop_model::{RECEIVED_AT_HEADER, REGION_HEADER};

use crate::auth::TokenKey;
use crate::store::{StoreError, Stores};
use error::Error;
use origin::OriginSecret;
use snapshot::{CatalogueCache, Snapshot};

/// The largest request body accepted, in bytes.
pub const BODY_LIMIT: usize = 64 * 1024;
/// The longest a request may take before it is answered 503: a stuck store never holds a shopper
/// (or CloudFront, which then fails over) waiting.
pub const REQUEST_TIME_LIMIT: Duration = Duration::from_secs(10);
/// How long after a write request arrives its write may still commit, unless configured. A write
/// to the primary is given up first by CloudFront (and the local edge), which answers 504 after
/// 2 s (`OriginReadTimeout`), then by the client (3.5 s, `unishop_failover::Policy`), both
/// counting from sending; either way the client then sends it to the standby. Below both, with
/// room for the request's way in, so that the primary never applies a write afterwards (having
/// been frozen and resumed, for instance) over newer ones made on the standby.
pub const DEFAULT_WRITE_DEADLINE: Duration = Duration::from_millis(1_500);

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub region: Arc<str>,
    pub stores: Stores,
    /// Signs and verifies login tokens; every region holds the same key.
    pub tokens: Arc<TokenKey>,
    catalogue: Arc<CatalogueCache>,
    /// See [`DEFAULT_WRITE_DEADLINE`].
    write_deadline: Duration,
    /// What a request must carry to be answered (see [`origin`]); `None`: no check.
    origin_secret: Option<Arc<OriginSecret>>,
}

impl AppState {
    pub fn new(region: &str, stores: Stores, tokens: TokenKey) -> Self {
        Self {
            region: region.into(),
            stores,
            tokens: Arc::new(tokens),
            catalogue: Arc::default(),
            write_deadline: DEFAULT_WRITE_DEADLINE,
            origin_secret: None,
        }
    }

    /// Answers only requests that carry this origin secret (see [`origin`]), `/health` aside.
    pub fn with_origin_secret(mut self, secret: OriginSecret) -> Self {
        self.origin_secret = Some(Arc::new(secret));
        self
    }

    /// How long after a write request arrives its write may still commit; past that the request
    /// is answered 503 and nothing is written.
    pub fn with_write_deadline(mut self, deadline: Duration) -> Self {
        self.write_deadline = deadline;
        self
    }

    /// The catalogue, at most a few seconds old (see [`snapshot`]).
    pub async fn catalogue(&self) -> Result<Arc<Snapshot>, StoreError> {
        self.catalogue.get(self.stores.catalogue.as_ref()).await
    }
}

/// Builds the whole API. The local server and the Lambda entry both serve exactly this router.
pub fn router(state: AppState) -> Router {
    // Validated by the configuration to be lower-case letters, digits and dashes.
    let region =
        HeaderValue::from_str(&state.region).unwrap_or(HeaderValue::from_static("unknown"));
    let region_header = HeaderName::from_static(REGION_HEADER);
    let openapi = Bytes::from(openapi::document());
    Router::new()
        .route("/unicorns", get(unicorns::list))
        .route("/unicorns/", get(unicorns::list_slash))
        .route("/unicorns/{uuid}", get(unicorns::show))
        .route("/categories", get(unicorns::categories))
        .route("/unicorns/basket", post(basket::add).delete(basket::remove))
        .route("/unicorns/basket/{user_uuid}", get(basket::show))
        .route("/user", post(users::signup))
        .route("/user/login", post(users::login))
        .route("/cart", get(cart::show))
        .route(
            "/cart/items/{product_uuid}",
            put(cart::set_item).delete(cart::remove_item),
        )
        .route("/cart/merge", post(cart::merge))
        .route("/orders", post(orders::place).get(orders::list))
        .route("/orders/{id}", get(orders::show))
        .route("/health", get(health::health))
        .route("/health/ping", get(health::ping))
        .route("/health/ishealthy", get(health::is_healthy))
        .route("/health/dbping", get(health::db_ping))
        .route(
            "/openapi.json",
            get(move || async move {
                (
                    [(header::CONTENT_TYPE, "application/json")],
                    openapi.clone(),
                )
            }),
        )
        .fallback(unknown_route)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state.clone())
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn(time_limit))
        .layer(middleware::from_fn_with_state(
            state.write_deadline,
            write_deadline,
        ))
        .layer(CatchPanicLayer::custom(|_| Error::Internal.into_response()))
        // The storefront calls the API cross-origin with a bearer token, which a wildcard
        // `Access-Control-Allow-Headers` does not cover: the asked-for headers are mirrored.
        .layer(
            CorsLayer::new()
                .allow_origin(Any)
                .allow_methods(Any)
                .allow_headers(AllowHeaders::mirror_request())
                .expose_headers([
                    region_header.clone(),
                    HeaderName::from_static(request_id::REQUEST_ID_HEADER),
                    header::ETAG,
                    header::RETRY_AFTER,
                ])
                .max_age(Duration::from_secs(600)),
        )
        // Outside CORS, so that a preflight that did not come through the edge is refused too.
        .layer(middleware::from_fn_with_state(
            state.origin_secret.clone(),
            origin::require,
        ))
        // Every log line of a request, the handler's included, carries its request id.
        .layer(TraceLayer::new_for_http().make_span_with(request_id::span))
        .layer(middleware::from_fn(request_id::assign))
        .layer(SetResponseHeaderLayer::overriding(region_header, region))
        // Anything personal must not be cached; catalogue reads set their own policy.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
}

/// Answers 503 when a request runs past [`REQUEST_TIME_LIMIT`].
async fn time_limit(request: Request, next: Next) -> Response {
    match tokio::time::timeout(REQUEST_TIME_LIMIT, next.run(request)).await {
        Ok(response) => response,
        Err(_) => Error::Timeout.into_response(),
    }
}

/// Gives every request that may write a deadline, counted from its arrival at the edge (or here,
/// without [`RECEIVED_AT_HEADER`]), past which its writes are refused (see
/// [`crate::store::with_write_deadline`]); one already past it is refused before any work. Reads
/// have none.
async fn write_deadline(
    axum::extract::State(deadline): axum::extract::State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    if request.method().is_safe() {
        return next.run(request).await;
    }
    let waited = request
        .headers()
        .get(RECEIVED_AT_HEADER)
        .map_or(Duration::ZERO, waited_since);
    let Some(left) = deadline.checked_sub(waited) else {
        return Error::Store(crate::store::StoreError::DeadlinePassed).into_response();
    };
    let deadline = tokio::time::Instant::now() + left;
    crate::store::with_write_deadline(deadline, next.run(request)).await
}

/// How long ago the edge's timestamp was; zero for one that is unreadable or in the future (it
/// can only shorten a deadline, so a caller who sends its own hurts only its own write).
fn waited_since(received_at: &HeaderValue) -> Duration {
    let received_ms = received_at
        .to_str()
        .ok()
        .and_then(|raw| raw.parse::<u64>().ok());
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|now| now.as_millis() as u64);
    match (received_ms, now_ms) {
        (Some(received), Ok(now)) => Duration::from_millis(now.saturating_sub(received)),
        _ => Duration::ZERO,
    }
}

async fn unknown_route(method: Method, uri: Uri) -> Error {
    Error::NotFound(format!("there is no route {method} {}", uri.path()))
}

async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    Error::MethodNotAllowed(format!("{} does not accept {method}", uri.path())).into_response()
}
