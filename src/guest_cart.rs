//! The cart of a shopper who has not logged in: lines kept in the browser, merged into the
//! server cart at login with the same arithmetic the API uses.

use serde::{Deserialize, Serialize};
use unishop_model::{merge_lines, CartLine, TooManyLines, MAX_QUANTITY};
use uuid::Uuid;

/// Lines of (product, quantity), oldest first.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct GuestCart {
    pub lines: Vec<CartLine>,
}

impl GuestCart {
    /// Reads a stored cart; anything unreadable counts as an empty cart rather than an error,
    /// because a shopper cannot repair browser storage.
    pub fn from_json(json: &str) -> Self {
        crate::json::from_str(json).unwrap_or_default()
    }

    pub fn to_json(&self) -> String {
        crate::json::to_string(self).unwrap_or_default()
    }

    /// Adds `quantity` of a product, held at the per-line maximum as the server's merge does;
    /// returns whether it was held.
    pub fn add(&mut self, product: Uuid, quantity: u32) -> Result<bool, TooManyLines> {
        let merged = merge_lines(
            &self.lines,
            &[CartLine {
                uuid: product,
                quantity,
            }],
        )?;
        self.lines = merged.lines;
        Ok(!merged.capped.is_empty())
    }

    /// Sets a line's quantity (1..=99); a product not in the cart is added.
    pub fn set(&mut self, product: Uuid, quantity: u32) -> Result<(), TooManyLines> {
        let quantity = quantity.clamp(1, MAX_QUANTITY);
        match self.lines.iter_mut().find(|l| l.uuid == product) {
            Some(line) => {
                line.quantity = quantity;
                Ok(())
            }
            None => self.add(product, quantity).map(drop),
        }
    }

    pub fn remove(&mut self, product: Uuid) {
        self.lines.retain(|l| l.uuid != product);
    }

    /// How many items, counting each unit.
    pub fn count(&self) -> u32 {
        count(&self.lines)
    }
}

/// Reads a quantity typed by the shopper: a whole number from 1 to [`MAX_QUANTITY`].
pub fn parse_quantity(raw: &str) -> Result<u32, String> {
    raw.trim()
        .parse::<u32>()
        .ok()
        .filter(|q| (1..=MAX_QUANTITY).contains(q))
        .ok_or_else(|| format!("Choose a quantity from 1 to {MAX_QUANTITY}."))
}

/// How many items a list of lines holds, counting each unit.
pub fn count(lines: &[CartLine]) -> u32 {
    lines.iter().map(|l| l.quantity).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use unishop_model::MAX_CART_LINES;

    fn product(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    #[test]
    fn adding_the_same_product_adds_up_and_caps() {
        let mut cart = GuestCart::default();
        cart.add(product(1), 2).expect("fits");
        cart.add(product(2), 1).expect("fits");
        cart.add(product(1), 3).expect("fits");
        assert_eq!(cart.lines.len(), 2);
        assert_eq!(
            cart.lines[0],
            CartLine {
                uuid: product(1),
                quantity: 5
            }
        );
        assert_eq!(cart.count(), 6);
        assert_eq!(cart.add(product(1), 94), Ok(false));
        assert_eq!(cart.lines[0].quantity, MAX_QUANTITY);
        assert_eq!(cart.add(product(1), 1), Ok(true), "held at the maximum");
        assert_eq!(cart.lines[0].quantity, MAX_QUANTITY);
    }

    #[test]
    fn set_clamps_and_remove_drops_the_line() {
        let mut cart = GuestCart::default();
        cart.set(product(1), 0).expect("fits");
        assert_eq!(cart.lines[0].quantity, 1);
        cart.set(product(1), 1000).expect("fits");
        assert_eq!(cart.lines[0].quantity, MAX_QUANTITY);
        cart.remove(product(1));
        assert!(cart.lines.is_empty());
    }

    #[test]
    fn refuses_more_lines_than_a_cart_holds() {
        let mut cart = GuestCart::default();
        for n in 0..MAX_CART_LINES as u128 {
            cart.add(product(n), 1).expect("fits");
        }
        assert!(cart.add(product(999), 1).is_err());
        assert_eq!(cart.lines.len(), MAX_CART_LINES);
    }

    #[test]
    fn quantities_are_whole_numbers_from_1_to_99() {
        assert_eq!(parse_quantity(" 3 "), Ok(3));
        assert_eq!(parse_quantity("99"), Ok(99));
        for bad in ["0", "100", "-1", "2.5", "", "two"] {
            assert_eq!(
                parse_quantity(bad),
                Err("Choose a quantity from 1 to 99.".to_owned()),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn storage_round_trips_and_survives_garbage() {
        let mut cart = GuestCart::default();
        cart.add(product(7), 3).expect("fits");
        assert_eq!(GuestCart::from_json(&cart.to_json()), cart);
        assert_eq!(GuestCart::from_json("{not json"), GuestCart::default());
    }
}
