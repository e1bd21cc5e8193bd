//! The HTTP surface: one module per resource, one [`error::Error`] for every failure.

pub mod basket;
pub mod error;
pub mod health;
pub mod json;
pub mod unicorns;
pub mod users;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderName, HeaderValue, Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{Any, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use unishop_model::REGION_HEADER;

use crate::store::Stores;
use error::Error;

/// The largest request body accepted, in bytes.
pub const BODY_LIMIT: usize = 64 * 1024;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub region: Arc<str>,
    pub stores: Stores,
}

impl AppState {
    pub fn new(region: &str, stores: Stores) -> Self {
        Self {
            region: region.into(),
            stores,
        }
    }
}

/// Builds the whole API. The local server and the Lambda entry both serve exactly this router.
pub fn router(state: AppState) -> Router {
    // Validated by the configuration to be lower-case letters, digits and dashes.
    let region =
        HeaderValue::from_str(&state.region).unwrap_or(HeaderValue::from_static("unknown"));
    let region_header = HeaderName::from_static(REGION_HEADER);
    Router::new()
        .route("/unicorns", get(unicorns::list))
        .route("/unicorns/", get(unicorns::list))
        .route("/unicorns/basket", post(basket::add).delete(basket::remove))
        .route("/unicorns/basket/{user_uuid}", get(basket::show))
        .route("/user", post(users::signup))
        .route("/user/login", post(users::login))
        .route("/health", get(health::health))
        .route("/health/ping", get(health::ping))
        .route("/health/ishealthy", get(health::is_healthy))
        .route("/health/dbping", get(health::db_ping))
        .fallback(unknown_route)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(CatchPanicLayer::custom(|_| Error::Internal.into_response()))
        .layer(TraceLayer::new_for_http())
        // The legacy page calls the API cross-origin; it must read the region header too.
        .layer(
            CorsLayer::new()
                .allow_origin(Any)
                .allow_methods(Any)
                .allow_headers(Any)
                .expose_headers([region_header.clone()])
                .max_age(std::time::Duration::from_secs(600)),
        )
        .layer(SetResponseHeaderLayer::overriding(region_header, region))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
}

async fn unknown_route(method: Method, uri: Uri) -> Error {
    Error::NotFound(format!("there is no route {method} {}", uri.path()))
}

async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    Error::MethodNotAllowed(format!("{} does not accept {method}", uri.path())).into_response()
}
