//! The catalogue, in the legacy shape.

use axum::extract::State;
use axum::Json;
use unishop_model::Product;

use super::error::Error;
use super::AppState;

/// `GET /unicorns` (and `/unicorns/`, which the legacy page calls): every product.
pub async fn list(State(state): State<AppState>) -> Result<Json<Vec<Product>>, Error> {
    Ok(Json(state.stores.catalogue.products().await?))
}
