//! One module per route.

pub mod catalogue;
pub mod not_found;
