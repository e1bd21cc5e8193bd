use leptos::prelude::*;

use crate::api::Api;
use crate::components::header::Header;
use crate::pages::account::{LoginPage, SignupPage};
use crate::pages::cart::CartPage;
use crate::pages::catalogue::CataloguePage;
use crate::pages::checkout::{ReviewPage, ShippingPage};
use crate::pages::not_found::NotFoundPage;
use crate::pages::orders::{OrderPage, OrdersPage};
use crate::pages::product::ProductPage;
use crate::pages::status::StatusPage;
use crate::router::{Location, Route};
use crate::state::Shop;

/// The whole storefront: shared state, the header, and one page per route.
#[component]
pub fn App() -> impl IntoView {
    let api = Api::new();
    // The header shows the configured region before any page has called the API.
    let preload = api.clone();
    leptos::task::spawn_local(async move {
        if let Err(error) = preload.config().await {
            leptos::logging::warn!("config.json: {error}");
        }
    });
    let shop = Shop::restore(api.clone());
    let location = Location::install();
    provide_context(api);
    provide_context(shop);
    provide_context(location);
    let route = Memo::new(move |_| location.route());
    view! {
        <a class="skip-link" href="#main" on:click=skip_to_main>"Skip to content"</a>
        <Header />
        <main id="main" tabindex="-1">
            {move || {
                let route = route.get();
                untrack(move || page(route))
            }}
        </main>
        <div class="visually-hidden" aria-live="polite" role="status" data-testid="announcer">
            {move || shop.announcement.get()}
        </div>
        <footer class="site-footer">
            <p>"The Unicorn Shop · every unicorn drawn by hand for this shop · " <a href="/status">"Service status"</a></p>
        </footer>
    }
}

/// The page a route shows.
fn page(route: Route) -> AnyView {
    match route {
        Route::Catalogue => view! { <CataloguePage /> }.into_any(),
        Route::Product(uuid) => view! { <ProductPage uuid /> }.into_any(),
        Route::Cart => view! { <CartPage /> }.into_any(),
        Route::Login => view! { <LoginPage /> }.into_any(),
        Route::Signup => view! { <SignupPage /> }.into_any(),
        Route::Shipping => view! { <ShippingPage /> }.into_any(),
        Route::Review => view! { <ReviewPage /> }.into_any(),
        Route::Orders => view! { <OrdersPage /> }.into_any(),
        Route::Order(id) => view! { <OrderPage id /> }.into_any(),
        Route::Status => view! { <StatusPage /> }.into_any(),
        Route::NotFound => view! { <NotFoundPage /> }.into_any(),
    }
}

/// Moves keyboard focus into `main`: following `#main` alone scrolls but leaves focus on the
/// skip link in some browsers.
fn skip_to_main(ev: leptos::ev::MouseEvent) {
    ev.prevent_default();
    let main = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id("main"));
    if let Some(element) = main {
        use wasm_bindgen::JsCast;
        if let Ok(main) = element.dyn_into::<web_sys::HtmlElement>() {
            let _ = main.focus();
        }
    }
}
