//! The legacy basket: the cart seen as a set of products, keyed by the user's uuid. Each call
//! needs the token of the user it names; a token for one user never reads or changes another's
//! basket (403).

use axum::extract::{Path, State};
use axum::Json;
use unishop_model::{Basket, BasketChange, Problem, ProductRef};
use uuid::Uuid;

use super::auth::Shopper;
use super::error::Error;
use super::json::{parse_uuid, JsonBody};
use super::AppState;

/// `GET /unicorns/basket/{userUuid}`.
#[utoipa::path(get, path = "/unicorns/basket/{userUuid}", tag = "legacy basket", security(("bearer" = [])),
    params(("userUuid" = Uuid, Path, description = "The user, who must be the token's")),
    responses(
        (status = 200, description = "The basket as a set of products", body = Basket),
        (status = 400, description = "The path is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token is another user's", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The store is unavailable", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn show(
    State(state): State<AppState>,
    shopper: Shopper,
    Path(user_uuid): Path<String>,
) -> Result<Json<Basket>, Error> {
    let user = parse_uuid(&user_uuid, "userUuid")?;
    own(shopper, user)?;
    require_user(&state, user).await?;
    let lines = state.stores.carts.cart(user).await?;
    Ok(Json(Basket {
        uuid: user,
        unicorns: lines
            .into_iter()
            .map(|line| ProductRef { uuid: line.uuid })
            .collect(),
    }))
}

/// `POST /unicorns/basket`: adds the first product listed (a product already there keeps its
/// quantity); answers with a JSON string, as the legacy Lambda backend did.
#[utoipa::path(post, path = "/unicorns/basket", tag = "legacy basket", security(("bearer" = [])),
    request_body = BasketChange,
    responses(
        (status = 200, description = "Added", body = String, example = json!("Added Unicorn to basket")),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The body names another user than the token's", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user or product", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The cart already holds 50 products", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is over 64 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The body lists no product or has the wrong shape", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The store is unavailable", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn add(
    State(state): State<AppState>,
    shopper: Shopper,
    JsonBody(change): JsonBody<BasketChange>,
) -> Result<Json<&'static str>, Error> {
    let (user, product) = checked_change(&state, shopper, &change).await?;
    state.stores.carts.add_line(user, product).await?;
    Ok(Json("Added Unicorn to basket"))
}

/// `DELETE /unicorns/basket` (with a JSON body): removes the first product listed.
#[utoipa::path(delete, path = "/unicorns/basket", tag = "legacy basket", security(("bearer" = [])),
    request_body = BasketChange,
    responses(
        (status = 200, description = "Removed (also when it was not there)", body = String, example = json!("Removed Unicorn from basket")),
        (status = 400, description = "The body is not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The body names another user than the token's", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user or product", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is over 64 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The body lists no product or has the wrong shape", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The store is unavailable", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn remove(
    State(state): State<AppState>,
    shopper: Shopper,
    JsonBody(change): JsonBody<BasketChange>,
) -> Result<Json<&'static str>, Error> {
    let (user, product) = checked_change(&state, shopper, &change).await?;
    state.stores.carts.remove_line(user, product).await?;
    Ok(Json("Removed Unicorn from basket"))
}

/// Refuses a token used on another user's basket.
fn own(Shopper(token_user): Shopper, user: Uuid) -> Result<(), Error> {
    if token_user == user {
        Ok(())
    } else {
        Err(Error::Forbidden(
            "this token is for another user; it can only use its own basket".to_owned(),
        ))
    }
}

/// The user and product a basket change names, both known to exist and the user the token's.
async fn checked_change(
    state: &AppState,
    shopper: Shopper,
    change: &BasketChange,
) -> Result<(Uuid, Uuid), Error> {
    own(shopper, change.uuid)?;
    let product = change
        .unicorns
        .first()
        .ok_or_else(|| Error::invalid_field("unicorns", "list at least one product"))?
        .uuid;
    require_user(state, change.uuid).await?;
    if state.catalogue().await?.product(product).is_none() {
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
