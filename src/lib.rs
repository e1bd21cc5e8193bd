//! The Unicorn Shop storefront: a Leptos single-page app compiled to WebAssembly.
//!
//! `config` and other plain modules hold the logic with ordinary tests; `api` owns every HTTP call;
//! `pages` has one file per route and `components` the pieces they share.

pub mod api;
mod app;
pub mod components;
pub mod config;
pub mod pages;

pub use app::App;
