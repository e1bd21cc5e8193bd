//! Health checks: `/health` for people and monitors, the legacy plain-text probes for the old
//! load balancers.

use axum::extract::State;
use axum::Json;
use unishop_model::Health;

use super::error::Error;
use super::AppState;

/// `GET /health`: the serving region, and `ok` while the store answers.
pub async fn health(State(state): State<AppState>) -> Result<Json<Health>, Error> {
    state.stores.carts.ping().await?;
    Ok(Json(Health {
        region: state.region.to_string(),
        status: "ok".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
    }))
}

/// `GET /health/ping`: the process is up.
pub async fn ping() -> &'static str {
    "pong"
}

/// `GET /health/ishealthy`: the process is up and fit to serve.
pub async fn is_healthy(State(state): State<AppState>) -> Result<&'static str, Error> {
    state.stores.carts.ping().await?;
    Ok("true")
}

/// `GET /health/dbping`: the database answers.
pub async fn db_ping(State(state): State<AppState>) -> Result<&'static str, Error> {
    state.stores.carts.ping().await?;
    Ok("OK")
}
