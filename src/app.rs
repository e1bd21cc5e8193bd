use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

use crate::api::Api;
use crate::components::header::Header;
use crate::pages::catalogue::CataloguePage;
use crate::pages::not_found::NotFoundPage;

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
    provide_context(api);
    view! {
        <Router>
            <a class="skip-link" href="#main">"Skip to content"</a>
            <Header />
            <main id="main" tabindex="-1">
                <Routes fallback=NotFoundPage>
                    <Route path=path!("/") view=CataloguePage />
                </Routes>
            </main>
            <footer class="site-footer">
                <p>"The Unicorn Shop · every unicorn drawn by hand for this shop"</p>
            </footer>
        </Router>
    }
}
