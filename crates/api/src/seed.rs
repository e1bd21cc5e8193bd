//! The catalogue every Unishop database starts with: the model crate's (feature `seed`), shared
//! with the storefront's prerendered pages.

pub use unishop_model::seed::{product_namespace, product_uuid, SeedProduct, CATALOGUE};
