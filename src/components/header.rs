use leptos::prelude::*;

use crate::api::Api;

/// The site header: the brand, and the region whose API served the latest response.
#[component]
pub fn Header() -> impl IntoView {
    let api = expect_context::<Api>();
    let region = move || api.region.get().unwrap_or_else(|| "…".to_owned());
    view! {
        <header class="site-header">
            <a class="brand" href="/">
                <span class="brand-name">"The Unicorn Shop"</span>
            </a>
            <p class="region">
                <span class="visually-hidden">"Served from region "</span>
                <span class="region-badge" data-testid="region-badge">{region}</span>
            </p>
        </header>
    }
}
