use leptos::prelude::*;

use crate::api::Api;
use crate::components::error_panel::ErrorPanel;
use crate::components::product_card::{ProductCard, ProductCardPlaceholder};

/// How many placeholders stand in for the catalogue while it loads.
const PLACEHOLDER_CARDS: usize = 10;

/// `/`: the catalogue grid.
#[component]
pub fn CataloguePage() -> impl IntoView {
    let api = expect_context::<Api>();
    let products = LocalResource::new(move || {
        let api = api.clone();
        async move { api.products().await }
    });
    let placeholders = || {
        view! {
            <ul class="product-grid" aria-busy="true">
                {(0..PLACEHOLDER_CARDS)
                    .map(|_| view! { <li><ProductCardPlaceholder /></li> })
                    .collect_view()}
            </ul>
        }
    };
    view! {
        <h1 class="page-title">"Unicorns for every day"</h1>
        <Transition fallback=placeholders>
            {move || {
                products
                    .get()
                    .map(|result| match result {
                        Ok(products) => {
                            view! {
                                <ul class="product-grid">
                                    {products
                                        .into_iter()
                                        .map(|product| view! { <li><ProductCard product /></li> })
                                        .collect_view()}
                                </ul>
                            }
                                .into_any()
                        }
                        Err(error) => {
                            view! {
                                <ErrorPanel
                                    message=error.to_string()
                                    on_retry=move || products.refetch()
                                />
                            }
                                .into_any()
                        }
                    })
            }}
        </Transition>
    }
}
