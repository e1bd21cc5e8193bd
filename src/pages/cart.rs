use leptos::prelude::*;
use unishop_model::{format_price, line_total, Product};

use crate::api::Api;
use crate::components::error_panel::ErrorPanel;
use crate::components::quantity_input::QuantityInput;
use crate::guest_cart::parse_quantity;
use crate::loader::Loader;
use crate::router::set_title;
use crate::session::Backend;
use crate::state::Shop;

/// `/cart`: the lines with quantities, line totals and the total; the way to checkout.
#[component]
pub fn CartPage() -> impl IntoView {
    let api = expect_context::<Api>();
    let shop = expect_context::<Shop>();
    let catalogue = Loader::new({
        let api = api.clone();
        move || {
            let api = api.clone();
            async move { api.products().await }
        }
    });
    set_title("Your cart");
    view! {
        <h1 class="page-title" tabindex="-1">"Your cart"</h1>
            {move || {
                let loading = shop.cart_loading.get();
                catalogue
                    .get()
                    .map(|result| match result {
                        Err(error) => {
                            view! { <ErrorPanel message=error.to_string() on_retry=move || catalogue.reload() /> }
                                .into_any()
                        }
                        Ok(_) if loading => view! { <p aria-busy="true">"Loading your cart…"</p> }.into_any(),
                        Ok(products) => view! { <CartLines products /> }.into_any(),
                    })
                    .unwrap_or_else(|| view! { <p aria-busy="true">"Loading your cart…"</p> }.into_any())
            }}
    }
}

#[component]
fn CartLines(products: Vec<Product>) -> impl IntoView {
    let shop = expect_context::<Shop>();
    let products = StoredValue::new(products);
    // The rows are rebuilt only when the products in the cart change, not their quantities, so a
    // row keeps what the shopper is typing, its message and focus while another row updates.
    let in_cart = Memo::new(move |_| {
        shop.lines.with(|lines| {
            lines
                .iter()
                .filter_map(|line| {
                    products.with_value(|all| all.iter().find(|p| p.uuid == line.uuid).cloned())
                })
                .collect::<Vec<_>>()
        })
    });
    let total = move || {
        shop.lines.with(|lines| {
            products.with_value(|all| {
                lines
                    .iter()
                    .filter_map(|line| {
                        let product = all.iter().find(|p| p.uuid == line.uuid)?;
                        Some(line_total(product.cents(), line.quantity))
                    })
                    .sum::<i64>()
            })
        })
    };
    let backend = move || shop.session.with(|s| s.as_ref().map(|s| s.backend));
    let is_empty = Memo::new(move |_| shop.lines.with(Vec::is_empty));
    view! {
        {move || if is_empty.get() {
            view! {
                <div class="empty-result">
                    <p>"Your cart is empty."</p>
                    <a href="/" class="button-link">"Browse the unicorns"</a>
                </div>
            }
            .into_any()
        } else {
            view! {
            <ul class="cart-lines">
                {move || in_cart
                    .get()
                    .into_iter()
                    .map(|product| view! { <CartLineRow product /> })
                    .collect_view()}
            </ul>
            <p class="cart-total">
                "Total: " <strong data-testid="cart-total">{move || format_price(total())}</strong>
            </p>
            {move || match backend() {
                Some(Backend::Unishop) => view! {
                    <a href="/checkout/shipping" class="button-link primary">"Check out"</a>
                }.into_any(),
                Some(Backend::Legacy) => view! {
                    <p class="notice" data-testid="checkout-unavailable">
                        "Checkout is not available: this shop's server takes no orders online yet. Your cart is kept for you."
                    </p>
                }.into_any(),
                None => view! {
                    <p><a href="/login?next=/checkout/shipping" class="button-link primary">"Log in to check out"</a></p>
                }.into_any(),
            }}
            }
            .into_any()
        }}
    }
}

#[component]
fn CartLineRow(product: Product) -> impl IntoView {
    let api = expect_context::<Api>();
    let shop = expect_context::<Shop>();
    let legacy = shop
        .session
        .with_untracked(|s| s.as_ref().is_some_and(|s| s.backend == Backend::Legacy));
    let uuid = product.uuid;
    let line_quantity = move || {
        shop.lines.with(|lines| {
            lines
                .iter()
                .find(|l| l.uuid == uuid)
                .map_or(0, |l| l.quantity)
        })
    };
    let unit_cents = product.cents();
    let quantity = RwSignal::new(untrack(line_quantity).to_string());
    let error = RwSignal::new(None::<String>);
    let input_id = format!("quantity-{uuid}");
    let update = {
        let api = api.clone();
        move || {
            let amount = match parse_quantity(&quantity.get_untracked()) {
                Ok(amount) => amount,
                Err(message) => {
                    error.set(Some(message));
                    return;
                }
            };
            error.set(None);
            let api = api.clone();
            leptos::task::spawn_local(async move {
                if let Err(e) = shop.set_quantity(&api, uuid, amount).await {
                    error.set(Some(e.to_string()));
                }
            });
        }
    };
    let remove = {
        let name = product.name.clone();
        move |_| {
            let api = api.clone();
            let name = name.clone();
            leptos::task::spawn_local(async move {
                if let Err(e) = shop.remove(&api, uuid, &name).await {
                    error.set(Some(e.to_string()));
                }
            });
        }
    };
    let name = product.name.clone();
    view! {
        <li class="cart-line" data-testid="cart-line">
            {product.image.clone().map(|src| view! { <img src=src alt="" width="64" height="64" /> })}
            <div class="cart-line-name">
                <a href=format!("/product/{uuid}")>{name.clone()}</a>
                <span class="unit-price">{format!("{} each", format_price(product.cents()))}</span>
            </div>
            {if legacy {
                view! { <span class="cart-line-quantity">"Quantity 1"</span> }.into_any()
            } else {
                view! {
                    <form class="cart-line-quantity" on:submit=move |ev| { ev.prevent_default(); update() } novalidate>
                        <label for=input_id.clone()>{format!("Quantity of {name}")}</label>
                        <QuantityInput id=input_id.clone() value=quantity error />
                        <button type="submit" class="secondary">"Update"</button>
                    </form>
                }.into_any()
            }}
            <span class="line-total" data-testid="line-total">{move || format_price(line_total(unit_cents, line_quantity()))}</span>
            <button type="button" class="secondary" on:click=remove aria-label=format!("Remove {} from cart", product.name)>
                "Remove"
            </button>
            <p class="field-error" id=format!("{input_id}-error")>{move || error.get()}</p>
        </li>
    }
}
