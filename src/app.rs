use std::pin::pin;

use futures::future::{select, Either};
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
use crate::router::{encode_component, PageUrl, Route};
use crate::settled::Settled;
use crate::state::Shop;

/// How long the first render waits for `config.json` before mounting without it.
const CONFIG_GRACE_MS: i32 = 300;
/// How long, after `config.json`, a page that shows products waits for the catalogue before
/// mounting with placeholders.
const CATALOGUE_GRACE_MS: i32 = 150;

/// Starts the storefront. The page's loader has asked for `config.json` and the catalogue, so
/// both have usually arrived by the time the wasm runs: the app reads `config.json`, asks for the
/// catalogue (which takes the loader's answer) and mounts once it is there, so the first frame
/// shows the products rather than placeholders followed by a second layout. Neither holds the
/// page back for long: past [`CONFIG_GRACE_MS`] or [`CATALOGUE_GRACE_MS`] the app mounts and
/// shows its loading state meanwhile. Tasks run in the order they are spawned.
pub fn start() {
    let catalogue = crate::prerendered::catalogue();
    #[cfg(feature = "hydrate")]
    if let Some(catalogue) = catalogue
        .clone()
        .filter(|_| crate::prerendered::is_this_page())
    {
        // The page is this URL's prerendered HTML: hydrate it now, from the catalogue it was
        // rendered with; config.json and the API's own catalogue are read after.
        let api = Api::with_prerendered(catalogue);
        leptos::mount::hydrate_body(move || {
            let page_url = PageUrl::install();
            view! { <App api page_url for_hydration=true /> }
        });
        return;
    }
    let api = catalogue.map_or_else(Api::new, Api::with_prerendered);
    // Leptos's executor is set up by the mount: until then, wasm-bindgen's runs the tasks.
    wasm_bindgen_futures::spawn_local(async move {
        let config = api.config();
        let grace = sleep(CONFIG_GRACE_MS);
        let (answer, mounted) = match select(pin!(config), pin!(grace)).await {
            Either::Left((answer, _)) => (answer, false),
            Either::Right(((), config)) => {
                mount(api.clone());
                (config.await, true)
            }
        };
        match answer {
            Ok(_) if first_page_needs_catalogue() => {
                let prefetch = api.clone();
                // Kept by the client: the page's own call picks up this answer.
                wasm_bindgen_futures::spawn_local(async move {
                    let _ = prefetch.products().await;
                });
                if !mounted {
                    let catalogue = api.products();
                    let _ = select(pin!(catalogue), pin!(sleep(CATALOGUE_GRACE_MS))).await;
                }
            }
            Ok(_) => {}
            // The page shows the problem when it asks again.
            Err(error) => leptos::logging::warn!("config.json: {error}"),
        }
        if !mounted {
            wasm_bindgen_futures::spawn_local(async move { mount(api) });
        }
    });
}

fn mount(api: Api) {
    // Another URL's prerendered HTML (a server that answers every path with the same page):
    // built afresh instead.
    crate::prerendered::clear();
    leptos::mount::mount_to_body(move || {
        let page_url = PageUrl::install();
        view! { <App api page_url /> }
    });
}

/// Resolves after `ms` milliseconds (at once if the browser has no timers).
async fn sleep(ms: i32) {
    let timer = js_sys::Promise::new(&mut |resolve, _| {
        let set = crate::browser::window().map(|window| {
            window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms)
        });
        if !matches!(set, Some(Ok(_))) {
            let _ = resolve.call0(&wasm_bindgen::JsValue::NULL);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(timer).await;
}

/// Whether the page being loaded shows products (catalogue, product, cart, review).
fn first_page_needs_catalogue() -> bool {
    let path = crate::browser::window()
        .and_then(|w| w.location().pathname().ok())
        .unwrap_or_default();
    matches!(
        Route::parse(&path),
        Route::Catalogue | Route::Product(_) | Route::Cart | Route::Review
    )
}

/// The whole storefront: shared state, the header, and one page per route, at `page_url`
/// ([`PageUrl::install`] in the browser, [`PageUrl::at`] when prerendering). Rendered
/// `for_hydration`, it first shows what every shopper gets (see [`crate::settled`]).
#[component]
pub fn App(api: Api, page_url: PageUrl, #[prop(optional)] for_hydration: bool) -> impl IntoView {
    let shop = Shop::restore(api.clone());
    end_refused_sessions(&api, shop, page_url);
    provide_context(Settled::new(for_hydration));
    provide_context(api.clone());
    provide_context(shop);
    provide_context(page_url);
    let route = Memo::new(move |_| page_url.route());
    view! {
        <a class="skip-link" href="#main" on:click=skip_to_main>"Skip to content"</a>
        <Header />
        <main id="main" tabindex="-1">
            {move || {
                let route = route.get();
                // Each page gets a client whose reads are aborted when the page goes away.
                let api = api.for_page();
                untrack(move || {
                    provide_context(api);
                    page(route)
                })
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

/// When the API refuses the current session's token (expired, revoked, key rotated), ends the
/// session and takes the shopper to log in, then back to where they were.
fn end_refused_sessions(api: &Api, shop: Shop, page_url: PageUrl) {
    let refused = api.refused_token;
    Effect::new(move |_| {
        let Some(token) = refused.get() else {
            return;
        };
        if untrack(|| shop.end_session(&token)) {
            let here = page_url.path_and_query();
            page_url.navigate(&format!("/login?next={}", encode_component(&here)));
        }
    });
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
    let main = crate::browser::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id("main"));
    if let Some(element) = main {
        use wasm_bindgen::JsCast;
        if let Ok(main) = element.dyn_into::<web_sys::HtmlElement>() {
            let _ = main.focus();
        }
    }
}
