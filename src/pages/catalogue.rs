use leptos::prelude::*;
use unishop_model::SortOrder;

use crate::api::Api;
use crate::catalogue_query::{categories, CatalogueQuery};
use crate::components::error_panel::ErrorPanel;
use crate::components::product_card::{ProductCard, ProductCardPlaceholder};
use crate::loader::Loader;
use crate::router::{set_title, use_page_url};

/// How many placeholders stand in for the catalogue while it loads.
const PLACEHOLDER_CARDS: usize = 10;

/// `/`: the catalogue grid, with search, category and sort kept in the query string.
#[component]
pub fn CataloguePage() -> impl IntoView {
    let api = expect_context::<Api>();
    let products = match (api.products_loaded(), api.prerendered()) {
        // Prerendered: shown from the first frame, refreshed from the API, kept while it is down.
        (None, Some(prerendered)) => Loader::refreshing(Ok(prerendered), move || {
            let api = api.clone();
            async move { api.products().await }
        }),
        (loaded, _) => Loader::starting_with(loaded.map(Ok), move || {
            let api = api.clone();
            async move { api.products().await }
        }),
    };
    let page_url = use_page_url();
    let query = Memo::new(move |_| {
        CatalogueQuery::from_params(
            page_url.query("q"),
            page_url.query("category"),
            page_url.query("sort"),
        )
    });
    let go = move |query: CatalogueQuery| {
        page_url.navigate(&query.to_url());
    };
    set_title("");
    let search_text = RwSignal::new(query.get_untracked().q);
    Effect::new(move |_| search_text.set(query.get().q));

    let on_search = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        go(CatalogueQuery {
            q: search_text.get_untracked(),
            ..query.get_untracked()
        });
    };
    let on_category = move |ev| {
        go(CatalogueQuery {
            category: event_target_value(&ev),
            ..query.get_untracked()
        })
    };
    // Another order of the same products: Back should not step through each one tried.
    let on_sort = move |ev| {
        let query = CatalogueQuery {
            sort: SortOrder::parse(&event_target_value(&ev)),
            ..query.get_untracked()
        };
        page_url.replace(&query.to_url());
    };
    // What the status line says; the line itself is always there, so its changes are announced.
    let result_status = move || {
        products
            .get()
            .and_then(Result::ok)
            .map(|all| match query.with(|q| q.apply(&all).len()) {
                0 => "No unicorns match your search.".to_owned(),
                1 => "1 product".to_owned(),
                n => format!("{n} products"),
            })
            .unwrap_or_default()
    };

    let placeholders = || {
        view! {
            <ul class="product-grid" aria-busy="true">
                {(0..PLACEHOLDER_CARDS)
                    .map(|_| view! { <li><ProductCardPlaceholder /></li> })
                    .collect_view()}
            </ul>
        }
        .into_any()
    };
    view! {
        <h1 class="page-title" tabindex="-1">"Unicorns for every day"</h1>
        <form class="filters" role="search" on:submit=on_search>
            <div class="field">
                <label for="search">"Search"</label>
                <input id="search" type="search" name="q" prop:value=move || search_text.get() on:input=move |ev| search_text.set(event_target_value(&ev)) />
            </div>
            <button type="submit">"Search"</button>
            <div class="field">
                <label for="category">"Category"</label>
                <select id="category" on:change=on_category prop:value=move || query.with(|q| q.category.clone())>
                    <option value="" selected=move || query.with(|q| q.category.is_empty())>"All categories"</option>
                    {move || {
                        let current = query.with(|q| q.category.clone());
                        products
                            .get()
                            .and_then(Result::ok)
                            .map(|all| {
                                categories(&all)
                                    .into_iter()
                                    .map(|c| {
                                        let selected = c == current;
                                        view! { <option value=c.clone() selected=selected>{c.clone()}</option> }
                                    })
                                    .collect_view()
                            })
                    }}
                </select>
            </div>
            <div class="field">
                <label for="sort">"Sort by"</label>
                <select id="sort" on:change=on_sort prop:value=move || query.with(|q| q.sort.map_or("", SortOrder::as_str))>
                    {[("", "Featured"), ("name", "Name"), ("price", "Price, low to high"), ("-price", "Price, high to low")]
                        .into_iter()
                        .map(|(value, label)| {
                            let selected = move || query.with(|q| q.sort.map_or("", SortOrder::as_str) == value);
                            view! { <option value=value selected=selected>{label}</option> }
                        })
                        .collect_view()}
                </select>
            </div>
        </form>
        <p class="result-count" role="status">{result_status}</p>
        {move || {
                products
                    .get()
                    .map(|result| match result {
                        Ok(all) => {
                            let shown = query.with(|q| q.apply(&all));
                            if shown.is_empty() {
                                view! {
                                    <div class="empty-result">
                                        <a href="/" class="button-link">"Clear filters"</a>
                                    </div>
                                }
                                    .into_any()
                            } else {
                                view! {
                                    <ul class="product-grid">
                                        {shown
                                            .into_iter()
                                            .map(|product| view! { <li><ProductCard product /></li> })
                                            .collect_view()}
                                    </ul>
                                }
                                    .into_any()
                            }
                        }
                        Err(error) => {
                            view! {
                                <ErrorPanel message=error.to_string() on_retry=move || products.reload() />
                            }
                                .into_any()
                        }
                    })
                    .unwrap_or_else(placeholders)
            }}
    }
}
