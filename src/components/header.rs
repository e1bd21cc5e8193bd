use leptos::prelude::*;

use crate::api::Api;
use crate::session::Backend;
use crate::settled::{use_settled, Settled};
use crate::state::Shop;

/// The site header: the brand with the serving region, the navigation, the cart count, and a calm
/// notice while the standby region serves the shop.
#[component]
pub fn Header() -> impl IntoView {
    let api = expect_context::<Api>();
    let shop = expect_context::<Shop>();
    // Until the page has settled it shows what its prerendered HTML shows (see crate::settled).
    let settled = use_settled();
    let region = move || {
        settled
            .get()
            .then(|| api.region.get())
            .flatten()
            .unwrap_or_else(|| "…".to_owned())
    };
    // Which backend the shopper is logged in to, if any: memoised, so the links are rebuilt only
    // at login and logout.
    let account = Memo::new(move |_| {
        settled
            .get()
            .then(|| shop.session.with(|s| s.as_ref().map(|s| s.backend)))
            .flatten()
    });
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
                    // One box, as wide logged in as out, so nothing else in the header moves when
                    // the page settles with the shopper's own session.
                    <li class="account-links"><ul class="nav-list">
                    {move || match account.get() {
                        None => view! {
                            <li><a href="/login">"Log in"</a></li>
                            <li><a href="/signup">"Sign up"</a></li>
                        }
                        .into_any(),
                        Some(backend) => view! {
                            {(backend == Backend::Unishop).then(|| view! { <li><a href="/orders">"Orders"</a></li> })}
                            <li>
                                <button type="button" class="link-button" on:click=move |_| shop.log_out()>
                                    "Log out"
                                </button>
                            </li>
                        }
                        .into_any(),
                    }}
                    </ul></li>
                    <li>
                        <a href="/cart" class="cart-link">
                            "Cart "
                            <span class="cart-count" data-testid="cart-count">{move || cart_count(shop, settled)}</span>
                            <span class="visually-hidden">" items"</span>
                        </a>
                    </li>
                </ul>
            </nav>
            // Always there, so that its text is announced when a failover fills it.
            <p class="standby-notice" role="status" data-testid="standby-notice">
                {move || api.on_standby.get().then_some(
                    "The shop is being served from our standby region for now. Everything works as usual: your cart and orders are safe.",
                )}
            </p>
        </header>
    }
}

/// The header's count: that of an empty cart until the page has settled (as its prerendered HTML
/// says), "…" while the server cart is on its way, never a count of an empty cart that is not known
/// to be empty.
fn cart_count(shop: Shop, settled: Settled) -> String {
    if !settled.get() {
        "0".to_owned()
    } else if shop.cart_loading.get() {
        "…".to_owned()
    } else {
        shop.count().to_string()
    }
}
