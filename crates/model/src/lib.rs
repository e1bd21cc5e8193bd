//! Wire types and domain rules shared by the Unishop storefront and API.
//!
//! Field names follow the legacy Unishop contract (camelCase JSON, null fields omitted), so a type
//! here can be read from and written to the old backend as well as ours. Additions to that contract
//! are optional fields, which keeps every extension additive.

mod auth;
mod cart;
mod catalogue;
mod money;
mod order;
mod problem;
#[cfg(feature = "seed")]
pub mod seed;
mod validation;

pub use auth::{Session, TOKEN_HEADER_SCHEME};
pub use cart::{
    cart_total, line_total, merge_lines, Cart, CartItem, CartLine, MergeRequest, MergeResult,
    Merged, SetQuantity, TooManyLines, MAX_CART_LINES, MAX_QUANTITY,
};
pub use catalogue::{Category, SortOrder, SORT_VALUES};
pub use money::format_price;
pub use order::{
    valid_idempotency_key, Order, PlaceOrder, ShippingAddress, IDEMPOTENCY_KEY_HEADER,
    MAX_IDEMPOTENCY_KEY_LEN,
};
pub use problem::{FieldError, Problem, PROBLEM_CONTENT_TYPE};
pub use validation::{
    check_email, check_password, normalise_email, EmailError, PasswordError, MAX_EMAIL_LEN,
    MAX_PASSWORD_LEN, MIN_PASSWORD_LEN,
};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The response header naming the region whose API answered.
pub const REGION_HEADER: &str = "x-unishop-region";

/// When the edge in front of the API (CloudFront, or the local edge) received a request, in
/// milliseconds since the Unix epoch. The API counts a write's deadline from it, so a request that
/// waited in a frozen process's socket is not applied when that process resumes.
pub const RECEIVED_AT_HEADER: &str = "x-unishop-received-at";

/// The header the edge in front of the API (CloudFront's origin custom header, or the local edge)
/// adds to every request it sends on, holding the origin secret: an API configured with one
/// answers 403 to a request without it, so its own address is no way around the edge.
pub const ORIGIN_SECRET_HEADER: &str = "x-unishop-origin-secret";

/// A product of the catalogue.
///
/// `price` is the legacy field (a number of dollars); `priceCents` is exact and is what our API
/// computes with. A legacy backend sends neither `priceCents` nor `category`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Product {
    pub uuid: Uuid,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub price: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price_cents: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// What the image shows, for shoppers who cannot see it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_alt: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
}

impl Product {
    /// The exact price in cents, derived from the legacy `price` when `priceCents` is absent.
    pub fn cents(&self) -> i64 {
        self.price_cents
            .unwrap_or_else(|| (self.price * 100.0).round() as i64)
    }
}

/// A shopper's account as the API shows it (never with a password).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub uuid: Uuid,
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
}

/// `POST /user`: older legacy pages send only `email`, newer ones the names too; our API also
/// requires a password (a legacy body without one is answered 422 naming `password`).
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SignupRequest {
    #[cfg_attr(
        feature = "openapi",
        schema(max_length = 254, example = "ada@example.com")
    )]
    pub email: String,
    /// 8 to 128 characters. Defaults to empty only so that its absence is reported as a field.
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schema(required = true, min_length = 8, max_length = 128)
    )]
    pub password: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 100))]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 100))]
    pub last_name: Option<String>,
}

/// `POST /user/login`: the email and password of an account.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginRequest {
    #[cfg_attr(
        feature = "openapi",
        schema(max_length = 254, example = "ada@example.com")
    )]
    pub email: String,
    /// Defaults to empty only so that its absence is reported as a field.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true, max_length = 128))]
    pub password: String,
}

// Passwords never reach a log line through `{:?}`.
impl std::fmt::Debug for SignupRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignupRequest")
            .field("email", &self.email)
            .field("password", &"<redacted>")
            .field("first_name", &self.first_name)
            .field("last_name", &self.last_name)
            .finish()
    }
}

impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest")
            .field("email", &self.email)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// A reference to a product by uuid; any other field the client sends along is ignored.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProductRef {
    pub uuid: Uuid,
}

/// Body of the legacy `POST` and `DELETE /unicorns/basket`: the user, and the product to add or
/// remove (the legacy backend uses only the first entry of `unicorns`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BasketChange {
    pub uuid: Uuid,
    pub unicorns: Vec<ProductRef>,
}

/// A user's basket in the legacy shape: a set of products.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Basket {
    pub uuid: Uuid,
    pub unicorns: Vec<ProductRef>,
}

/// `GET /health`: which region answered, and whether it is fit to serve.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    pub region: String,
    /// `ok` when the region can serve; a region whose store fails answers 503 instead.
    pub status: String,
    pub version: String,
    /// `ok` when the store answered the health check (absent from legacy backends).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_product_without_extensions_reads_and_prices_in_cents() {
        let json = r#"{"uuid":"6f1c3e2a-0000-4000-8000-000000000001","name":"UnicornFloat","price":100.0}"#;
        let product: Product = serde_json::from_str(json).expect("legacy product parses");
        assert_eq!(product.cents(), 10_000);
        assert_eq!(product.category, None);
    }

    #[test]
    fn product_omits_missing_fields_and_uses_camel_case() {
        let product = Product {
            uuid: Uuid::nil(),
            name: "Float".into(),
            description: None,
            price: 12.5,
            price_cents: Some(1250),
            image: None,
            image_alt: None,
            category: None,
        };
        let json = serde_json::to_value(&product).expect("serialises");
        assert_eq!(json["priceCents"], 1250);
        assert!(json.get("description").is_none());
        assert!(json.get("image").is_none());
    }

    #[test]
    fn basket_change_ignores_extra_fields_the_legacy_page_sends() {
        let json = r#"{"uuid":"00000000-0000-4000-8000-000000000000",
            "unicorns":[{"uuid":"00000000-0000-4000-8000-000000000001","name":"x","price":100}]}"#;
        let change: BasketChange = serde_json::from_str(json).expect("parses");
        assert_eq!(change.unicorns.len(), 1);
    }

    #[test]
    fn signup_reads_a_legacy_body_without_password_as_an_empty_one() {
        let signup: SignupRequest = serde_json::from_str(r#"{"email":"a@b.co"}"#).expect("parses");
        assert_eq!(signup.first_name, None);
        assert_eq!(signup.password, "");
    }

    #[test]
    fn credentials_are_redacted_from_debug_output() {
        let login = LoginRequest {
            email: "a@b.co".into(),
            password: "hunter2hunter2".into(),
        };
        assert!(!format!("{login:?}").contains("hunter2"));
        let signup = SignupRequest {
            email: "a@b.co".into(),
            password: "hunter2hunter2".into(),
            first_name: None,
            last_name: None,
        };
        assert!(!format!("{signup:?}").contains("hunter2"));
    }
}
