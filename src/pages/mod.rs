//! One module per route.

pub mod account;
pub mod cart;
pub mod catalogue;
pub mod checkout;
pub mod not_found;
pub mod orders;
pub mod product;
pub mod status;
