use leptos::prelude::*;

use crate::api::Api;
use crate::state::Shop;

/// The site header: the brand with the serving region, the navigation and the cart count.
#[component]
pub fn Header() -> impl IntoView {
    let api = expect_context::<Api>();
    let shop = expect_context::<Shop>();
    let region = move || api.region.get().unwrap_or_else(|| "…".to_owned());
    let logged_in = move || shop.session.with(Option::is_some);
    let is_unishop = move || {
        shop.session.with(|s| {
            s.as_ref()
                .is_some_and(|s| s.backend == crate::session::Backend::Unishop)
        })
    };
    view! {
        <header class="site-header">
            <a class="brand" href="/">
                <span class="brand-name">"The Unicorn Shop"</span>
                <span class="visually-hidden">", served from region "</span>
                <span class="region-badge" data-testid="region-badge">{region}</span>
            </a>
            <nav aria-label="Main">
                <ul class="nav-list">
                    <li><a href="/">"Products"</a></li>
                    <Show when=is_unishop>
                        <li><a href="/orders">"Orders"</a></li>
                    </Show>
                    <Show
                        when=logged_in
                        fallback=|| view! {
                            <li><a href="/login">"Log in"</a></li>
                            <li><a href="/signup">"Sign up"</a></li>
                        }
                    >
                        <li>
                            <button type="button" class="link-button" on:click=move |_| shop.log_out()>
                                "Log out"
                            </button>
                        </li>
                    </Show>
                    <li>
                        <a href="/cart" class="cart-link">
                            "Cart "
                            <span class="cart-count" data-testid="cart-count">{move || shop.count()}</span>
                            <span class="visually-hidden">" items"</span>
                        </a>
                    </li>
                </ul>
            </nav>
        </header>
    }
}
