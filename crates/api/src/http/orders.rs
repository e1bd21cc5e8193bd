//! Orders: placed from the cart at the catalogue's prices, exactly once per idempotency key.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use sha2::{Digest, Sha256};
use unishop_model::{Order, PlaceOrder, Problem, ShippingAddress};
use uuid::Uuid;

use super::auth::Shopper;
use super::error::Error;
use super::idempotency::required_key;
use super::json::{parse_uuid, JsonBody};
use super::AppState;
use crate::store::{NewOrder, StoreError, StoredOrder};
use unishop_model::FieldError;

/// How often placing is retried when the cart changes between pricing and writing.
const PLACE_ATTEMPTS: usize = 3;

/// `POST /orders`: orders the whole cart.
///
/// The order and the emptying of the cart are one write. The `Idempotency-Key` makes the call
/// safe to repeat, in the same region or (after a failover) the other: the key is stored with the
/// order, so the same key and body again answer 200 with the same order, and the same key with
/// another body is refused (422).
#[utoipa::path(post, path = "/orders", tag = "orders", security(("bearer" = [])),
    params(("Idempotency-Key" = String, Header, description = "1 to 64 visible ASCII characters, unique per order (a UUID)", min_length = 1, max_length = 64, pattern = r"^[!-~]{1,64}$")),
    request_body = PlaceOrder,
    responses(
        (status = 201, description = "The order was placed", body = Order),
        (status = 200, description = "This key placed this order before; it is answered again", body = Order),
        (status = 400, description = "The body is not JSON, or the Idempotency-Key is missing or malformed", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The cart is empty, or kept changing", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body is over 64 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field breaks a rule, or the key was used with another body", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The store is unavailable", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn place(
    State(state): State<AppState>,
    Shopper(user): Shopper,
    headers: HeaderMap,
    JsonBody(request): JsonBody<PlaceOrder>,
) -> Result<(StatusCode, Json<Order>), Error> {
    let key = required_key(&headers, "order")?;
    let shipping = clean_shipping(request.shipping)?;
    let request_hash = request_hash(&shipping);
    for _ in 0..PLACE_ATTEMPTS {
        if let Some(stored) = state.stores.orders.order_by_key(user, &key).await? {
            return replay(stored, &request_hash);
        }
        let lines = state.stores.carts.cart(user).await?;
        if lines.is_empty() {
            // A request with this key may have placed its order (and emptied the cart) since
            // the key was looked up: that is a retry, not an empty cart.
            if let Some(stored) = state.stores.orders.order_by_key(user, &key).await? {
                return replay(stored, &request_hash);
            }
            return Err(Error::Conflict(
                "the cart is empty; add products before ordering".to_owned(),
            ));
        }
        // Prices come from the store, read now: never from the client, nor from a cache.
        let mut items = Vec::with_capacity(lines.len());
        for line in &lines {
            let product = state
                .stores
                .catalogue
                .product(line.uuid)
                .await?
                .ok_or_else(|| {
                    Error::Conflict(format!(
                        "product {} is no longer sold; remove it from the cart",
                        line.uuid
                    ))
                })?;
            items.push(unishop_model::CartItem::new(
                product.uuid,
                product.name.clone(),
                product.cents(),
                line.quantity,
            ));
        }
        let order = Order {
            id: Uuid::new_v4(),
            total_cents: unishop_model::cart_total(&items),
            items,
            created_at: crate::time::rfc3339(std::time::SystemTime::now()),
            region: state.region.to_string(),
            shipping: shipping.clone(),
        };
        let placed = state
            .stores
            .orders
            .place_order(NewOrder {
                user,
                idempotency_key: key.clone(),
                request_hash: request_hash.clone(),
                order: order.clone(),
                cart: lines,
            })
            .await;
        match placed {
            Ok(()) => {
                tracing::info!(order = %order.id, total_cents = order.total_cents, "order placed");
                return Ok((StatusCode::CREATED, Json(order)));
            }
            // Another request with this key won the race, or the cart changed under us: look
            // again (the key's order is then found and answered).
            Err(StoreError::Conflict) | Err(StoreError::Stale) => continue,
            Err(other) => return Err(other.into()),
        }
    }
    Err(Error::Conflict(
        "the cart kept changing while the order was being placed; try again".to_owned(),
    ))
}

/// `GET /orders`: the user's orders, newest first.
#[utoipa::path(get, path = "/orders", tag = "orders", security(("bearer" = [])),
    responses(
        (status = 200, description = "The user's orders, newest first", body = [Order]),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The store is unavailable", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    State(state): State<AppState>,
    Shopper(user): Shopper,
) -> Result<Json<Vec<Order>>, Error> {
    Ok(Json(state.stores.orders.orders(user).await?))
}

/// `GET /orders/{id}`: one of the user's orders (404 for another user's, as for an unknown one).
#[utoipa::path(get, path = "/orders/{id}", tag = "orders", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The order's id")),
    responses(
        (status = 200, description = "The order", body = Order),
        (status = 400, description = "The id is not a UUID", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "The user has no such order", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The store is unavailable", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn show(
    State(state): State<AppState>,
    Shopper(user): Shopper,
    Path(id): Path<String>,
) -> Result<Json<Order>, Error> {
    let id = parse_uuid(&id, "id")?;
    state
        .stores
        .orders
        .order(user, id)
        .await?
        .map(Json)
        .ok_or_else(|| Error::NotFound(format!("you have no order {id}")))
}

fn replay(stored: StoredOrder, request_hash: &str) -> Result<(StatusCode, Json<Order>), Error> {
    if stored.request_hash == request_hash {
        Ok((StatusCode::OK, Json(stored.order)))
    } else {
        Err(Error::Invalid {
            detail: "this Idempotency-Key was already used for a different order; use a new key"
                .to_owned(),
            errors: vec![FieldError {
                field: "Idempotency-Key".to_owned(),
                message: "already used with another request body".to_owned(),
            }],
        })
    }
}

/// The hash a repeated request must match: of the cleaned request, so that whitespace, field
/// order and ignored extra fields do not make a retry look like another order.
fn request_hash(shipping: &ShippingAddress) -> String {
    let canonical = serde_json::to_vec(shipping).unwrap_or_default();
    Sha256::digest(&canonical)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Trims every field and checks its length; reports every failing field at once.
fn clean_shipping(raw: ShippingAddress) -> Result<ShippingAddress, Error> {
    let mut errors = Vec::new();
    let mut field = |name: &str, value: String, min: usize, max: usize| -> String {
        let value = value.trim().to_owned();
        let length = value.chars().count();
        if length < min {
            errors.push(FieldError {
                field: format!("shipping.{name}"),
                message: "required".to_owned(),
            });
        } else if length > max {
            errors.push(FieldError {
                field: format!("shipping.{name}"),
                message: format!("at most {max} characters"),
            });
        } else if value.chars().any(char::is_control) {
            errors.push(FieldError {
                field: format!("shipping.{name}"),
                message: "control characters are not allowed".to_owned(),
            });
        }
        value
    };
    let cleaned = ShippingAddress {
        name: field("name", raw.name, 1, 100),
        line1: field("line1", raw.line1, 1, 200),
        line2: Some(field("line2", raw.line2.unwrap_or_default(), 0, 200))
            .filter(|l| !l.is_empty()),
        city: field("city", raw.city, 1, 100),
        postal_code: field("postalCode", raw.postal_code, 1, 20),
        country: field("country", raw.country, 1, 60),
    };
    if errors.is_empty() {
        Ok(cleaned)
    } else {
        Err(Error::Invalid {
            detail: errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect::<Vec<_>>()
                .join("; "),
            errors,
        })
    }
}
