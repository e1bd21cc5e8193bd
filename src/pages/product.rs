use leptos::prelude::*;
use unishop_model::{format_price, Product};
use uuid::Uuid;

use crate::api::Api;
use crate::components::error_panel::ErrorPanel;
use crate::components::quantity_input::QuantityInput;
use crate::guest_cart::parse_quantity;
use crate::loader::Loader;
use crate::pages::not_found::NotFoundPage;
use crate::router::set_title;
use crate::state::Shop;

/// `/product/{uuid}`: one product, deep-linkable, with a quantity and Add to cart.
#[component]
pub fn ProductPage(uuid: Uuid) -> impl IntoView {
    let api = expect_context::<Api>();
    set_title("Product");
    let product = match api.prerendered_product(uuid) {
        // Prerendered: shown from the first frame, refreshed from the API, kept while it is down.
        Some(prerendered) => Loader::refreshing(Ok(Some(prerendered)), move || {
            let api = api.clone();
            async move { api.product(uuid).await }
        }),
        None => Loader::new(move || {
            let api = api.clone();
            async move { api.product(uuid).await }
        }),
    };
    // The detail is rebuilt only when what it shows apart from the price changes (found or not,
    // failed, another name: a legacy backend names the prerendered products its own way): a
    // refreshed answer with a new price changes the price in place, and keeps what the shopper
    // typed.
    let shown = Memo::new(move |_| {
        product.get().map(|result| {
            result
                .map(|found| found.map(without_price))
                .map_err(|e| e.to_string())
        })
    });
    let price = Signal::derive(move || {
        product
            .get()
            .and_then(|result| result.ok().flatten())
            .map(|p| format_price(p.cents()))
            .unwrap_or_default()
    });
    view! {
            {move || {
                shown
                    .get()
                    .map(|shown| match shown {
                        Ok(Some(product)) => view! { <ProductDetail product price /> }.into_any(),
                        Ok(None) => view! { <NotFoundPage /> }.into_any(),
                        Err(message) => {
                            view! {
                                <h1 class="page-title" tabindex="-1">"Product"</h1>
                                <ErrorPanel message on_retry=move || product.reload() />
                            }
                                .into_any()
                        }
                    })
            }.unwrap_or_else(|| view! { <div class="product-detail placeholder" aria-busy="true"></div> }.into_any())}
    }
}

/// The product as the detail shows it once built: its price is a signal of its own.
fn without_price(product: Product) -> Product {
    Product {
        price: 0.0,
        price_cents: None,
        ..product
    }
}

#[component]
fn ProductDetail(product: Product, price: Signal<String>) -> impl IntoView {
    let api = expect_context::<Api>();
    let shop = expect_context::<Shop>();
    let quantity = RwSignal::new("1".to_owned());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let uuid = product.uuid;
    let name = product.name.clone();
    let on_add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let amount = match parse_quantity(&quantity.get_untracked()) {
            Ok(amount) => amount,
            Err(message) => {
                error.set(Some(message));
                crate::components::field::focus_first_error();
                return;
            }
        };
        error.set(None);
        busy.set(true);
        let api = api.clone();
        let name = name.clone();
        leptos::task::spawn_local(async move {
            if let Err(e) = shop.add(&api, uuid, amount, &name).await {
                error.set(Some(e.to_string()));
            }
            busy.set(false);
        });
    };
    set_title(&product.name);
    let alt = product
        .image_alt
        .clone()
        .unwrap_or_else(|| format!("Picture of the {}", product.name));
    view! {
        <article class="product-detail">
            {product.image.clone().map(|src| view! { <img src=src alt=alt width="360" height="360" /> })}
            <div class="product-info">
                <h1 class="page-title" tabindex="-1">{product.name.clone()}</h1>
                {product.category.clone().map(|c| view! { <p class="product-category">{c}</p> })}
                <p class="product-price" data-testid="product-price">{move || price.get()}</p>
                {product.description.clone().map(|d| view! { <p class="product-description">{d}</p> })}
                <form class="add-to-cart" on:submit=on_add novalidate>
                    <div class="field">
                        <label for="quantity">"Quantity"</label>
                        <QuantityInput id="quantity".to_owned() value=quantity error />
                        <p class="field-error" id="quantity-error">{move || error.get()}</p>
                    </div>
                    <button type="submit" disabled=move || busy.get()>"Add to cart"</button>
                </form>
                <p><a href="/cart">"Go to your cart"</a></p>
            </div>
        </article>
    }
}
