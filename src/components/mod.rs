//! Pieces shared by several pages.

pub mod error_panel;
pub mod field;
pub mod header;
pub mod product_card;
pub mod quantity_input;
