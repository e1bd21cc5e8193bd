//! The OpenAPI 3.1 document, generated from the handlers' annotations and the model's types, and
//! served at `GET /openapi.json`. It is the API's reference; schemathesis checks the running
//! server against it.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{basket, cart, health, orders, unicorns, users};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Unishop API",
        description = "The Unicorn Shop: catalogue, accounts, carts and orders. The legacy routes \
            (`/unicorns`, `/user`, `/unicorns/basket`) keep their shapes; everything else is \
            additive. Every error is an RFC 9457 `application/problem+json` document. Every \
            response carries `x-unishop-region` (the region that answered) and `x-request-id`."
    ),
    paths(
        unicorns::list, unicorns::list_slash, unicorns::show, unicorns::categories,
        users::signup, users::login,
        cart::show, cart::set_item, cart::remove_item, cart::merge,
        basket::show, basket::add, basket::remove,
        orders::place, orders::list, orders::show,
        health::health, health::ping, health::is_healthy, health::db_ping,
        openapi_json,
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "catalogue", description = "Products and categories; cacheable, with ETags"),
        (name = "accounts", description = "Sign-up and log-in (argon2id passwords, signed tokens)"),
        (name = "cart", description = "The token's user's cart"),
        (name = "legacy basket", description = "The same cart as a set of products, in the legacy shape"),
        (name = "orders", description = "Orders, placed once per Idempotency-Key"),
        (name = "health", description = "Region and store health"),
    )
)]
pub struct ApiDoc;

/// Declares the `bearer` scheme the protected routes name.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The token from `POST /user/login`, valid in every region for a week",
                    ))
                    .build(),
            ),
        );
    }
}

/// `GET /openapi.json`: this document.
#[utoipa::path(get, path = "/openapi.json", tag = "health",
    responses((status = 200, description = "The OpenAPI 3.1 document of this API", content_type = "application/json")))]
pub async fn openapi_json() {}

/// The document as JSON bytes, made once when the router is built.
pub fn document() -> Vec<u8> {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc.to_json().map(String::into_bytes).unwrap_or_default()
}
