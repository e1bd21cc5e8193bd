//! The Unishop API.
//!
//! [`http::router`] builds the whole HTTP surface once; the local server (`src/main.rs`) and, later,
//! the Lambda entry both serve that same router. Storage sits behind the traits of [`store`], so the
//! handlers never know which database answers.

pub mod auth;
pub mod config;
pub mod http;
pub mod seed;
pub mod store;
pub mod time;

pub use config::Config;
pub use http::{router, AppState};
