//! The cart: lines of (product, quantity), and the arithmetic both the API and the storefront's
//! guest cart use, so that a merge at login gives the same result on either side.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The most of one product a cart line holds.
pub const MAX_QUANTITY: u32 = 99;
/// The most lines (distinct products) a cart holds.
pub const MAX_CART_LINES: usize = 50;

/// A product and how many of it; the unpriced form a store keeps and a guest cart sends.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CartLine {
    pub uuid: Uuid,
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 99))]
    pub quantity: u32,
}

/// A cart line priced from the catalogue.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CartItem {
    /// The product's uuid.
    pub uuid: Uuid,
    pub name: String,
    pub price_cents: i64,
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 99))]
    pub quantity: u32,
    pub line_total_cents: i64,
}

impl CartItem {
    pub fn new(uuid: Uuid, name: String, price_cents: i64, quantity: u32) -> Self {
        CartItem {
            uuid,
            name,
            price_cents,
            quantity,
            line_total_cents: line_total(price_cents, quantity),
        }
    }
}

/// `GET /cart`: the priced lines, oldest first, and their total.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Cart {
    pub items: Vec<CartItem>,
    pub total_cents: i64,
}

impl Cart {
    pub fn new(items: Vec<CartItem>) -> Self {
        let total_cents = cart_total(&items);
        Cart { items, total_cents }
    }
}

/// `PUT /cart/items/{productUuid}`: the quantity the line should hold (1 to 99).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SetQuantity {
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 99))]
    pub quantity: u32,
}

/// `POST /cart/merge`: a guest cart to fold into the account's cart at login.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MergeRequest {
    #[cfg_attr(feature = "openapi", schema(max_items = 50))]
    pub items: Vec<CartLine>,
}

/// The merged cart, and what could not be merged as asked: products the catalogue does not know
/// (`unknown`, left out) and lines whose sum passed 99 (`capped`, held at 99).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", from = "MergeResultFields")]
pub struct MergeResult {
    #[serde(flatten)]
    pub cart: Cart,
    pub unknown: Vec<Uuid>,
    pub capped: Vec<Uuid>,
}

/// [`MergeResult`] as it is read: the same JSON with the cart's fields listed. Reading through
/// `#[serde(flatten)]` buffers every value first, which costs the storefront's wasm about 8 KB.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MergeResultFields {
    items: Vec<CartItem>,
    total_cents: i64,
    unknown: Vec<Uuid>,
    capped: Vec<Uuid>,
}

impl From<MergeResultFields> for MergeResult {
    fn from(fields: MergeResultFields) -> Self {
        MergeResult {
            cart: Cart {
                items: fields.items,
                total_cents: fields.total_cents,
            },
            unknown: fields.unknown,
            capped: fields.capped,
        }
    }
}

/// A line's total; saturates rather than wraps (prices are far below the point where it would).
pub fn line_total(price_cents: i64, quantity: u32) -> i64 {
    price_cents.saturating_mul(i64::from(quantity))
}

/// The sum of the lines' totals, saturating.
pub fn cart_total(items: &[CartItem]) -> i64 {
    items
        .iter()
        .fold(0i64, |sum, item| sum.saturating_add(item.line_total_cents))
}

/// The outcome of [`merge_lines`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Merged {
    /// The existing lines in their order (quantities added to), then the new products in the
    /// order they came.
    pub lines: Vec<CartLine>,
    /// Products whose added quantity passed [`MAX_QUANTITY`] and were held at it.
    pub capped: Vec<Uuid>,
}

/// A merge would leave more than [`MAX_CART_LINES`] lines; nothing is merged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TooManyLines {
    pub lines: usize,
}

impl std::fmt::Display for TooManyLines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the merged cart would hold {} products; a cart holds at most {MAX_CART_LINES}",
            self.lines
        )
    }
}

impl std::error::Error for TooManyLines {}

/// Folds `incoming` into `existing`: no line is lost, the quantities of a product present in both
/// (or repeated in `incoming`) add up to at most [`MAX_QUANTITY`], and a quantity of 0 counts as 1
/// (a line exists because someone added the product).
pub fn merge_lines(existing: &[CartLine], incoming: &[CartLine]) -> Result<Merged, TooManyLines> {
    let mut lines: Vec<CartLine> = Vec::with_capacity(existing.len() + incoming.len());
    let mut capped = Vec::new();
    for line in existing.iter().chain(incoming) {
        let quantity = line.quantity.clamp(1, MAX_QUANTITY);
        match lines.iter_mut().find(|l| l.uuid == line.uuid) {
            Some(present) => {
                let sum = present.quantity.saturating_add(line.quantity.max(1));
                if sum > MAX_QUANTITY && !capped.contains(&line.uuid) {
                    capped.push(line.uuid);
                }
                present.quantity = sum.min(MAX_QUANTITY);
            }
            None => {
                if line.quantity > MAX_QUANTITY && !capped.contains(&line.uuid) {
                    capped.push(line.uuid);
                }
                lines.push(CartLine {
                    uuid: line.uuid,
                    quantity,
                })
            }
        }
    }
    if lines.len() > MAX_CART_LINES {
        return Err(TooManyLines { lines: lines.len() });
    }
    Ok(Merged { lines, capped })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Lines over a small set of products, so that overlaps are common.
    fn lines(max: usize) -> impl Strategy<Value = Vec<CartLine>> {
        proptest::collection::vec(
            (0u8..8, 0u32..150).prop_map(|(product, quantity)| CartLine {
                uuid: Uuid::from_u128(u128::from(product) + 1),
                quantity,
            }),
            0..max,
        )
    }

    fn distinct(lines: &[CartLine]) -> Vec<CartLine> {
        let mut out: Vec<CartLine> = Vec::new();
        for line in lines {
            if !out.iter().any(|l| l.uuid == line.uuid) {
                out.push(*line);
            }
        }
        out
    }

    proptest! {
        #[test]
        fn merge_loses_no_line_and_adds_up_to_the_limit(
            existing in lines(10).prop_map(|l| distinct(&l)),
            incoming in lines(12),
        ) {
            let merged = merge_lines(&existing, &incoming).expect("8 products fit");
            for line in existing.iter().chain(&incoming) {
                let wanted: u64 = existing.iter().chain(&incoming)
                    .filter(|l| l.uuid == line.uuid)
                    .map(|l| u64::from(l.quantity.max(1)))
                    .sum();
                let got = merged.lines.iter().find(|l| l.uuid == line.uuid)
                    .expect("no line lost").quantity;
                prop_assert_eq!(u64::from(got), wanted.min(u64::from(MAX_QUANTITY)));
                prop_assert_eq!(merged.capped.contains(&line.uuid), wanted > u64::from(MAX_QUANTITY));
            }
            // Nothing invented, no duplicates, every quantity in range.
            prop_assert_eq!(merged.lines.len(), distinct(&[existing.clone(), incoming.clone()].concat()).len());
            prop_assert!(merged.lines.iter().all(|l| (1..=MAX_QUANTITY).contains(&l.quantity)));
            // The existing lines keep their order at the front.
            let front: Vec<Uuid> = merged.lines.iter().take(existing.len()).map(|l| l.uuid).collect();
            prop_assert_eq!(front, existing.iter().map(|l| l.uuid).collect::<Vec<_>>());
        }

        #[test]
        fn merging_into_an_empty_cart_with_nothing_changes_nothing(existing in lines(10).prop_map(|l| distinct(&l))) {
            let merged = merge_lines(&existing, &[]).expect("fits");
            let expected: Vec<CartLine> = existing.iter()
                .map(|l| CartLine { uuid: l.uuid, quantity: l.quantity.clamp(1, MAX_QUANTITY) })
                .collect();
            prop_assert_eq!(merged.lines, expected);
        }

        #[test]
        fn totals_are_the_sum_of_price_times_quantity(
            priced in proptest::collection::vec((0i64..1_000_000, 1u32..=MAX_QUANTITY), 0..MAX_CART_LINES),
        ) {
            let items: Vec<CartItem> = priced.iter().enumerate()
                .map(|(i, (price, quantity))| CartItem::new(Uuid::from_u128(i as u128), String::new(), *price, *quantity))
                .collect();
            let expected: i64 = priced.iter().map(|(p, q)| p * i64::from(*q)).sum();
            prop_assert_eq!(Cart::new(items).total_cents, expected);
        }
    }

    #[test]
    fn a_merge_past_the_line_limit_is_refused_whole() {
        let many = |offset: u128, n: u128| -> Vec<CartLine> {
            (0..n)
                .map(|i| CartLine {
                    uuid: Uuid::from_u128(offset + i),
                    quantity: 1,
                })
                .collect()
        };
        assert!(merge_lines(&many(0, 30), &many(100, 20)).is_ok());
        assert_eq!(
            merge_lines(&many(0, 30), &many(100, 21)),
            Err(TooManyLines { lines: 51 })
        );
    }

    #[test]
    fn line_totals_saturate_instead_of_wrapping() {
        assert_eq!(line_total(i64::MAX, 2), i64::MAX);
        assert_eq!(line_total(4_999, 3), 14_997);
    }

    #[test]
    fn a_merge_result_is_the_cart_flattened_and_reads_back() {
        let result = MergeResult {
            cart: Cart::new(vec![CartItem::new(
                Uuid::from_u128(1),
                "Float".into(),
                4_999,
                2,
            )]),
            unknown: vec![Uuid::from_u128(2)],
            capped: Vec::new(),
        };
        let json = serde_json::to_value(&result).expect("serialised");
        assert_eq!(json["totalCents"], 9_998);
        assert_eq!(json["items"][0]["lineTotalCents"], 9_998);
        assert_eq!(json["unknown"][0], Uuid::from_u128(2).to_string());
        let back: MergeResult = serde_json::from_value(json).expect("read back");
        assert_eq!(back, result);
    }
}
