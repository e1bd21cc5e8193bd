//! The cart of the token's user: priced lines with quantities.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::Json;
use unishop_model::{
    Cart, CartItem, CartLine, MergeRequest, MergeResult, Problem, SetQuantity, MAX_CART_LINES,
    MAX_QUANTITY,
};
use uuid::Uuid;

use super::auth::Shopper;
use super::error::Error;
use super::idempotency::optional_key;
use super::json::{parse_uuid, JsonBody};
use super::snapshot::Snapshot;
use super::AppState;

/// `GET /cart`.
#[utoipa::path(get, path = "/cart", tag = "cart", security(("bearer" = [])),
    responses(
        (status = 200, description = "The cart, priced from the catalogue", body = Cart),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The store is unavailable", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn show(
    State(state): State<AppState>,
    Shopper(user): Shopper,
) -> Result<Json<Cart>, Error> {
    Ok(Json(priced_cart(&state, user).await?))
}

/// `PUT /cart/items/{productUuid}` `{quantity}`: sets a line, adding it when missing.
#[utoipa::path(put, path = "/cart/items/{productUuid}", tag = "cart", security(("bearer" = [])),
    params(("productUuid" = Uuid, Path, description = "The product")),
    request_body = SetQuantity,
    responses(
        (status = 200, description = "The cart after the change", body = Cart),
        (status = 400, description = "The path or body cannot be read", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such product", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The cart already holds 50 products", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is over 64 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The quantity is not 1 to 99", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The store is unavailable", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn set_item(
    State(state): State<AppState>,
    Shopper(user): Shopper,
    Path(product): Path<String>,
    JsonBody(request): JsonBody<SetQuantity>,
) -> Result<Json<Cart>, Error> {
    let product = parse_uuid(&product, "productUuid")?;
    check_quantity(request.quantity, "quantity")?;
    let snapshot = state.catalogue().await?;
    if snapshot.product(product).is_none() {
        return Err(Error::NotFound(format!("there is no product {product}")));
    }
    state
        .stores
        .carts
        .set_quantity(user, product, request.quantity)
        .await?;
    Ok(Json(priced_cart(&state, user).await?))
}

/// `DELETE /cart/items/{productUuid}`: removes a line (removing an absent one is not an error).
#[utoipa::path(delete, path = "/cart/items/{productUuid}", tag = "cart", security(("bearer" = [])),
    params(("productUuid" = Uuid, Path, description = "The product")),
    responses(
        (status = 200, description = "The cart after the change", body = Cart),
        (status = 400, description = "The path is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The store is unavailable", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn remove_item(
    State(state): State<AppState>,
    Shopper(user): Shopper,
    Path(product): Path<String>,
) -> Result<Json<Cart>, Error> {
    let product = parse_uuid(&product, "productUuid")?;
    state.stores.carts.remove_line(user, product).await?;
    Ok(Json(priced_cart(&state, user).await?))
}

/// `POST /cart/merge`: folds a guest cart into the account's cart at login. Quantities of a
/// product in both add up (held at 99, reported in `capped`); products the catalogue does not know
/// are reported in `unknown` rather than dropped silently; a result over 50 lines is refused whole
/// (409), so the guest cart stays the client's to keep.
///
/// With an `Idempotency-Key` the merge is applied once: sent again with the same key (a lost
/// answer, a failover to the other region) it changes nothing and answers the cart as it is.
#[utoipa::path(post, path = "/cart/merge", tag = "cart", security(("bearer" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "1 to 64 visible ASCII characters, one per merge (a UUID): a repeat with the same key changes nothing", min_length = 1, max_length = 64, pattern = r"^[!-~]{1,64}$")),
    request_body = MergeRequest,
    responses(
        (status = 200, description = "The merged cart and what could not be merged as asked", body = MergeResult),
        (status = 400, description = "The body is not JSON, or the Idempotency-Key is malformed", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The merged cart would hold more than 50 products", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is over 64 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Too many lines, or a quantity not 1 to 99", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The store is unavailable", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn merge(
    State(state): State<AppState>,
    Shopper(user): Shopper,
    headers: HeaderMap,
    JsonBody(request): JsonBody<MergeRequest>,
) -> Result<Json<MergeResult>, Error> {
    let key = optional_key(&headers)?;
    if request.items.len() > MAX_CART_LINES {
        return Err(Error::invalid_field(
            "items",
            format!("a cart holds at most {MAX_CART_LINES} products"),
        ));
    }
    for (i, line) in request.items.iter().enumerate() {
        check_quantity(line.quantity, &format!("items[{i}].quantity"))?;
    }
    let snapshot = state.catalogue().await?;
    let (known, unknown): (Vec<CartLine>, Vec<CartLine>) = request
        .items
        .iter()
        .partition(|line| snapshot.product(line.uuid).is_some());
    let mut unknown: Vec<Uuid> = unknown.into_iter().map(|l| l.uuid).collect();
    unknown.dedup();
    let merged = state
        .stores
        .carts
        .merge(user, &known, key.as_deref())
        .await?;
    Ok(Json(MergeResult {
        cart: price(&snapshot, &merged.lines),
        unknown,
        capped: merged.capped,
    }))
}

pub fn check_quantity(quantity: u32, field: &str) -> Result<(), Error> {
    if (1..=MAX_QUANTITY).contains(&quantity) {
        Ok(())
    } else {
        Err(Error::invalid_field(
            field,
            format!("a quantity is 1 to {MAX_QUANTITY}"),
        ))
    }
}

/// The user's cart priced from the catalogue.
pub async fn priced_cart(state: &AppState, user: Uuid) -> Result<Cart, Error> {
    let lines = state.stores.carts.cart(user).await?;
    let snapshot = state.catalogue().await?;
    Ok(price(&snapshot, &lines))
}

/// Prices lines at the catalogue's prices. A line whose product has left the catalogue is not
/// sold any more: it is left out (and logged), never priced from elsewhere.
pub fn price(snapshot: &Snapshot, lines: &[CartLine]) -> Cart {
    let items = lines
        .iter()
        .filter_map(|line| match snapshot.product(line.uuid) {
            Some(product) => Some(CartItem::new(
                product.uuid,
                product.name.clone(),
                product.cents(),
                line.quantity,
            )),
            None => {
                tracing::warn!(product = %line.uuid, "a cart holds a product the catalogue lacks");
                None
            }
        })
        .collect();
    Cart::new(items)
}
