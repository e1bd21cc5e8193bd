use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::CartItem;

/// The request header that makes `POST /orders` safe to repeat.
pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";
/// The longest idempotency key accepted.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 64;

/// An idempotency key is 1 to 64 visible ASCII characters (a UUID is a good choice).
pub fn valid_idempotency_key(key: &str) -> bool {
    (1..=MAX_IDEMPOTENCY_KEY_LEN).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic())
}

/// Where an order goes.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ShippingAddress {
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 100))]
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200))]
    pub line1: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 200))]
    pub line2: Option<String>,
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 100))]
    pub city: String,
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 20))]
    pub postal_code: String,
    /// A country name or code, as the shopper wrote it.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 60))]
    pub country: String,
}

/// `POST /orders`: orders everything in the cart, at the catalogue's prices.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlaceOrder {
    pub shipping: ShippingAddress,
}

/// A placed order.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Order {
    pub id: Uuid,
    pub items: Vec<CartItem>,
    pub total_cents: i64,
    /// When the order was placed, RFC 3339 in UTC (`2025-01-31T12:00:00.000Z`).
    pub created_at: String,
    /// The region whose API placed the order.
    pub region: String,
    pub shipping: ShippingAddress,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotency_keys_are_short_visible_ascii() {
        assert!(valid_idempotency_key("a"));
        assert!(valid_idempotency_key(&"k".repeat(64)));
        assert!(valid_idempotency_key(
            "6f1c3e2a-0000-4000-8000-000000000001"
        ));
        assert!(!valid_idempotency_key(""));
        assert!(!valid_idempotency_key(&"k".repeat(65)));
        assert!(!valid_idempotency_key("with space"));
        assert!(!valid_idempotency_key("tab\there"));
        assert!(!valid_idempotency_key("ünïcode"));
    }
}
