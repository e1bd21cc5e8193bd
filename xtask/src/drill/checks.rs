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
                findings.details.push(format!(
                    "shopper {shopper} ({}): cart line {product}: acknowledged writes make {want}, the store has {have}",
                    expected.email
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
