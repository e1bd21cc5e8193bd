//! The Unishop API.
//!
//! [`http::router`] builds the whole HTTP surface once; the local server and the Lambda entry (both
//! in `src/main.rs`, set up by [`startup`]) serve that same router. Storage sits behind the traits of [`store`], so the
//! handlers never know which database answers.

pub mod auth;
pub mod aws;
pub mod config;
pub mod http;
pub mod secrets;
pub mod seed;
pub mod startup;
pub mod store;
pub mod time;

pub use config::Config;
pub use http::{router, AppState};
