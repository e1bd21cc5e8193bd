//! The Unicorn Shop storefront: a Leptos app compiled to WebAssembly. The same components are
//! rendered to HTML on the host at build time (feature `ssr`, [`prerender`]: the catalogue and
//! every product page) and hydrated in the browser (feature `hydrate`, the default, which Trunk
//! builds); the routes that belong to one shopper mount into the shell (`index.html`).
//!
//! Plain modules hold the logic with ordinary tests (`config`, `guest_cart`, `catalogue_query`,
//! `checkout`, `session`, `router`); `api` owns every HTTP call; `state` is the context the pages share;
//! `pages` has one file per route and `components` the pieces they share.

pub mod api;
mod app;
pub mod browser;
pub mod catalogue_query;
pub mod checkout;
pub mod components;
pub mod config;
pub mod crash;
pub mod guest_cart;
pub mod json;
pub mod loader;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod prerender;
pub mod prerendered;
pub mod router;
pub mod session;
pub mod settled;
pub mod state;

pub use app::{start, App};
