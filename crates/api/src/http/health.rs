//! Health checks: `/health` for people and monitors, the legacy plain-text probes for the old
//! load balancers.

use axum::extract::State;
use axum::Json;
use unishop_model::{Health, Problem};

use super::error::Error;
use super::AppState;

/// `GET /health`: the serving region, its version, and `ok` while the store answers.
#[utoipa::path(get, path = "/health", tag = "health",
    responses(
        (status = 200, description = "The region can serve", body = Health),
        (status = 503, description = "The store does not answer", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn health(State(state): State<AppState>) -> Result<Json<Health>, Error> {
    state.stores.carts.ping().await?;
    Ok(Json(Health {
        region: state.region.to_string(),
        status: "ok".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        store: Some("ok".to_owned()),
    }))
}

/// `GET /health/ping`: the process is up.
#[utoipa::path(get, path = "/health/ping", tag = "health",
    responses((status = 200, description = "`pong`", body = String, content_type = "text/plain")))]
pub async fn ping() -> &'static str {
    "pong"
}

/// `GET /health/ishealthy`: the process is up and fit to serve.
#[utoipa::path(get, path = "/health/ishealthy", tag = "health",
    responses(
        (status = 200, description = "`true`", body = String, content_type = "text/plain"),
        (status = 503, description = "The store does not answer", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn is_healthy(State(state): State<AppState>) -> Result<&'static str, Error> {
    state.stores.carts.ping().await?;
    Ok("true")
}

/// `GET /health/dbping`: the database answers.
#[utoipa::path(get, path = "/health/dbping", tag = "health",
    responses(
        (status = 200, description = "`OK`", body = String, content_type = "text/plain"),
        (status = 503, description = "The store does not answer", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn db_ping(State(state): State<AppState>) -> Result<&'static str, Error> {
    state.stores.carts.ping().await?;
    Ok("OK")
}
