//! The Unicorn Shop storefront: a Leptos single-page app compiled to WebAssembly.
//!
//! Plain modules hold the logic with ordinary tests (`config`, `guest_cart`, `catalogue_query`,
//! `checkout`, `session`, `router`); `api` owns every HTTP call; `state` is the context the pages share;
//! `pages` has one file per route and `components` the pieces they share.

pub mod api;
mod app;
pub mod catalogue_query;
pub mod checkout;
pub mod components;
pub mod config;
pub mod crash;
pub mod guest_cart;
pub mod json;
pub mod loader;
pub mod pages;
pub mod router;
pub mod session;
pub mod state;

pub use app::{start, App};
