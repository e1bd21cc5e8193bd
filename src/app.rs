use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::hooks::use_location;
use leptos_router::path;

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
    provide_context(api);
    provide_context(shop);
    view! {
        <Router>
            <a class="skip-link" href="#main" on:click=skip_to_main>"Skip to content"</a>
            <Header />
            <FocusOnNavigation />
            <main id="main" tabindex="-1">
                <ErrorBoundary fallback=|errors| view! {
                    <div class="error-panel" role="alert">
                        <p>"Part of this page failed to show. Reload to try again."</p>
                        <ul>{move || errors.get().into_iter().map(|(_, e)| view! { <li>{e.to_string()}</li> }).collect_view()}</ul>
                    </div>
                }>
                    <Routes fallback=NotFoundPage>
                        <Route path=path!("/") view=CataloguePage />
                        <Route path=path!("/product/:uuid") view=ProductPage />
                        <Route path=path!("/cart") view=CartPage />
                        <Route path=path!("/login") view=LoginPage />
                        <Route path=path!("/signup") view=SignupPage />
                        <Route path=path!("/checkout/shipping") view=ShippingPage />
                        <Route path=path!("/checkout/review") view=ReviewPage />
                        <Route path=path!("/orders") view=OrdersPage />
                        <Route path=path!("/orders/:id") view=OrderPage />
                        <Route path=path!("/status") view=StatusPage />
                    </Routes>
                </ErrorBoundary>
            </main>
            <div class="visually-hidden" aria-live="polite" role="status" data-testid="announcer">
                {move || shop.announcement.get()}
            </div>
            <footer class="site-footer">
                <p>"The Unicorn Shop · every unicorn drawn by hand for this shop · " <a href="/status">"Service status"</a></p>
            </footer>
        </Router>
    }
}

/// Moves keyboard focus into `main`. Without this the router, whose click handler sits on the
/// window, takes `#main` for a navigation and focus stays on the skip link; this handler sits on
/// the link itself (events are not delegated in this build), so it runs first and the router
/// leaves the prevented click alone.
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

/// After each navigation (not the first load), moves keyboard focus to the new page's heading so
/// screen-reader users hear where they are.
#[component]
fn FocusOnNavigation() -> impl IntoView {
    let location = use_location();
    Effect::new(move |previous: Option<String>| {
        let path = location.pathname.get();
        if previous.is_some_and(|p| p != path) {
            focus_heading(10);
        }
        path
    });
}

/// Focuses `main h1`, waiting a few frames for a page that is still loading.
fn focus_heading(frames_left: u32) {
    request_animation_frame(move || {
        let heading = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.query_selector("main h1").ok().flatten());
        match heading {
            Some(element) => {
                use wasm_bindgen::JsCast;
                if let Ok(heading) = element.dyn_into::<web_sys::HtmlElement>() {
                    let _ = heading.focus();
                }
            }
            None if frames_left > 0 => focus_heading(frames_left - 1),
            None => {}
        }
    });
}
