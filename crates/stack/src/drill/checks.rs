//! After the run: every shopper's cart and orders as the store holds them, against what the
//! acknowledged writes say it must hold.

use std::collections::BTreeSet;

use unishop_model::{Cart, Order};
use uuid::Uuid;

use super::shopper::{cart_lines, Expected};

/// What the store holds that it should not, or lacks.
#[derive(Debug, Default)]
pub struct Findings {
    /// Acknowledged writes not in the store (missing orders, cart lines that differ).
    pub lost_writes: usize,
    /// Orders beyond one per checkout key.
    pub duplicate_orders: usize,
    /// One line per finding, for the log.
    pub details: Vec<String>,
}

/// Compares one shopper's store state with what it must be.
pub fn compare(shopper: usize, expected: &Expected, cart: &Cart, orders: &[Order]) -> Findings {
    let mut findings = Findings::default();
    if !expected.cart_unknown {
        let store = cart_lines(cart);
        let products: BTreeSet<&Uuid> = store.keys().chain(expected.cart.keys()).collect();
        for product in products {
            let want = expected.cart.get(product).copied().unwrap_or(0);
            let have = store.get(product).copied().unwrap_or(0);
            if want != have {
                findings.lost_writes += 1;
                let history: Vec<&str> = expected
                    .writes
                    .iter()
                    .filter(|w| w.contains(&product.to_string()))
                    .map(String::as_str)
                    .collect();
                findings.details.push(format!(
                    "shopper {shopper} ({}): cart line {product}: acknowledged writes make {want}, the store has {have}; writes: {}",
                    expected.email,
                    history.join(", ")
                ));
            }
        }
    }
    let held: BTreeSet<Uuid> = orders.iter().map(|o| o.id).collect();
    for id in &expected.orders {
        if !held.contains(id) {
            findings.lost_writes += 1;
            findings.details.push(format!(
                "shopper {shopper}: acknowledged order {id} is not in the store"
            ));
        }
    }
    if orders.len() > expected.checkouts {
        findings.duplicate_orders = orders.len() - expected.checkouts;
        findings.details.push(format!(
            "shopper {shopper}: {} orders in the store for {} checkouts",
            orders.len(),
            expected.checkouts
        ));
    }
    findings
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use unishop_model::{Cart, CartItem, Order, ShippingAddress};
    use uuid::Uuid;

    use super::{compare, Expected};

    fn expected(cart: &[(u128, u32)], orders: &[u128], checkouts: usize) -> Expected {
        Expected {
            email: "a@drill.example".to_owned(),
            token: Some("t".to_owned()),
            cart: cart
                .iter()
                .map(|(id, q)| (Uuid::from_u128(*id), *q))
                .collect::<BTreeMap<_, _>>(),
            orders: orders.iter().map(|id| Uuid::from_u128(*id)).collect(),
            checkouts,
            cart_unknown: false,
            writes: Vec::new(),
        }
    }

    fn cart(lines: &[(u128, u32)]) -> Cart {
        Cart::new(
            lines
                .iter()
                .map(|(id, quantity)| CartItem {
                    uuid: Uuid::from_u128(*id),
                    name: "x".to_owned(),
                    price_cents: 100,
                    quantity: *quantity,
                    line_total_cents: 100 * i64::from(*quantity),
                })
                .collect(),
        )
    }

    fn order(id: u128) -> Order {
        Order {
            id: Uuid::from_u128(id),
            items: Vec::new(),
            total_cents: 0,
            created_at: String::new(),
            region: "us-east-1".to_owned(),
            shipping: ShippingAddress {
                name: "n".to_owned(),
                line1: "l".to_owned(),
                line2: None,
                city: "c".to_owned(),
                postal_code: "p".to_owned(),
                country: "US".to_owned(),
            },
        }
    }

    #[test]
    fn a_store_matching_the_acknowledged_writes_has_no_findings() {
        let found = compare(
            0,
            &expected(&[(1, 2)], &[9], 1),
            &cart(&[(1, 2)]),
            &[order(9)],
        );
        assert_eq!((found.lost_writes, found.duplicate_orders), (0, 0));
    }

    #[test]
    fn a_doubled_merge_a_lost_line_and_a_missing_order_are_each_counted() {
        let found = compare(
            0,
            &expected(&[(1, 2), (2, 1)], &[9], 1),
            &cart(&[(1, 4)]),
            &[],
        );
        assert_eq!(found.lost_writes, 3);
        assert_eq!(found.details.len(), 3);
    }

    #[test]
    fn orders_beyond_one_per_checkout_key_are_duplicates() {
        let found = compare(
            0,
            &expected(&[], &[9], 1),
            &cart(&[]),
            &[order(9), order(8)],
        );
        assert_eq!(found.duplicate_orders, 1);
    }

    #[test]
    fn a_cart_whose_last_write_went_unanswered_is_not_compared() {
        let mut e = expected(&[(1, 2)], &[], 0);
        e.cart_unknown = true;
        assert_eq!(compare(0, &e, &cart(&[(1, 3)]), &[]).lost_writes, 0);
    }
}
