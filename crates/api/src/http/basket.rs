//! The legacy basket: a set of products per user, keyed by the user's uuid.

use axum::extract::{Path, State};
use axum::Json;
use unishop_model::{Basket, BasketChange, ProductRef};
use uuid::Uuid;

use super::error::Error;
use super::json::{parse_uuid, JsonBody};
use super::AppState;

/// `GET /unicorns/basket/{userUuid}`.
pub async fn show(
    State(state): State<AppState>,
    Path(user_uuid): Path<String>,
) -> Result<Json<Basket>, Error> {
    let user = parse_uuid(&user_uuid, "userUuid")?;
    require_user(&state, user).await?;
    let unicorns = state.stores.carts.basket(user).await?;
    Ok(Json(Basket {
        uuid: user,
        unicorns: unicorns
            .into_iter()
            .map(|uuid| ProductRef { uuid })
            .collect(),
    }))
}

/// `POST /unicorns/basket`: adds the first product listed; answers with a JSON string, as the
/// legacy Lambda backend did.
pub async fn add(
    State(state): State<AppState>,
    JsonBody(change): JsonBody<BasketChange>,
) -> Result<Json<&'static str>, Error> {
    let (user, product) = checked_change(&state, &change).await?;
    state.stores.carts.add_to_basket(user, product).await?;
    Ok(Json("Added Unicorn to basket"))
}

/// `DELETE /unicorns/basket` (with a JSON body): removes the first product listed.
pub async fn remove(
    State(state): State<AppState>,
    JsonBody(change): JsonBody<BasketChange>,
) -> Result<Json<&'static str>, Error> {
    let (user, product) = checked_change(&state, &change).await?;
    state.stores.carts.remove_from_basket(user, product).await?;
    Ok(Json("Removed Unicorn from basket"))
}

/// The user and product a basket change names, both known to exist.
async fn checked_change(state: &AppState, change: &BasketChange) -> Result<(Uuid, Uuid), Error> {
    let product = change
        .unicorns
        .first()
        .ok_or_else(|| Error::invalid_field("unicorns", "list at least one product"))?
        .uuid;
    require_user(state, change.uuid).await?;
    if state.stores.catalogue.product(product).await?.is_none() {
        return Err(Error::NotFound(format!("there is no product {product}")));
    }
    Ok((change.uuid, product))
}

async fn require_user(state: &AppState, user: Uuid) -> Result<(), Error> {
    match state.stores.users.user(user).await? {
        Some(_) => Ok(()),
        None => Err(Error::NotFound(format!("there is no user {user}"))),
    }
}
