//! `/orders` and `/orders/{id}` (also the confirmation after checkout).

use leptos::prelude::*;
use unishop_model::{format_price, Order};
use uuid::Uuid;

use crate::api::{Api, ApiError};
use crate::components::error_panel::ErrorPanel;
use crate::loader::Loader;
use crate::pages::not_found::NotFoundPage;
use crate::router::set_title;
use crate::state::Shop;

fn login_prompt() -> AnyView {
    view! {
        <p>"Log in to see your orders."</p>
        <a href="/login?next=/orders" class="button-link primary">"Log in"</a>
    }
    .into_any()
}

#[component]
pub fn OrdersPage() -> impl IntoView {
    let api = expect_context::<Api>();
    let shop = expect_context::<Shop>();
    let orders = Loader::new(move || {
        let api = api.clone();
        let session = shop.session.get();
        async move {
            match session {
                Some(session) => api.orders(&session).await.map(Some),
                None => Ok(None),
            }
        }
    });
    set_title("Your orders");
    view! {
        <h1 class="page-title" tabindex="-1">"Your orders"</h1>
            {move || orders.get().map(|result| match result {
                Ok(None) => login_prompt(),
                Ok(Some(list)) if list.is_empty() => view! { <p>"You have not ordered anything yet."</p> }.into_any(),
                Ok(Some(list)) => view! {
                    <ul class="order-list">
                        {list.into_iter().map(|order| view! {
                            <li data-testid="order-summary">
                                <a href=format!("/orders/{}", order.id)>{format!("Order of {}", order_date(&order))}</a>
                                {format!(" · {} items · {}", order.items.iter().map(|i| i.quantity).sum::<u32>(), format_price(order.total_cents))}
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any(),
                Err(error) => view! { <ErrorPanel message=error.to_string() on_retry=move || orders.reload() /> }.into_any(),
            }).unwrap_or_else(|| view! { <p aria-busy="true">"Loading your orders…"</p> }.into_any())}
    }
}

#[component]
pub fn OrderPage(id: Uuid) -> impl IntoView {
    let api = expect_context::<Api>();
    let shop = expect_context::<Shop>();
    set_title("Order");
    let order = Loader::new(move || {
        let api = api.clone();
        let session = shop.session.get();
        async move {
            match session {
                Some(session) => api.order(&session, id).await.map(Some),
                None => Ok(None),
            }
        }
    });
    view! {
            {move || order.get().map(|result| match result {
                Ok(None) => view! { <h1 class="page-title" tabindex="-1">"Order"</h1> {login_prompt()} }.into_any(),
                Ok(Some(order)) => view! { <OrderDetail order /> }.into_any(),
                Err(ApiError::Rejected { status: 400 | 404 | 422, .. }) => view! { <NotFoundPage /> }.into_any(),
                Err(error) => view! {
                    <h1 class="page-title" tabindex="-1">"Order"</h1>
                    <ErrorPanel message=error.to_string() on_retry=move || order.reload() />
                }.into_any(),
            }).unwrap_or_else(|| view! { <p aria-busy="true">"Loading the order…"</p> }.into_any())}
    }
}

#[component]
fn OrderDetail(order: Order) -> impl IntoView {
    let shop = expect_context::<Shop>();
    let shipping = order.shipping.clone();
    // Headed as a confirmation right after checkout; any other visit shows a past order.
    let confirmed = shop.placed_order.get_untracked() == Some(order.id);
    let heading = if confirmed {
        "Order confirmed".to_owned()
    } else {
        format!("Order of {}", order_date(&order))
    };
    set_title(&heading);
    view! {
        <h1 class="page-title" tabindex="-1">{heading}</h1>
        <p>{confirmed.then_some("Thank you! ")} "Order " <code data-testid="order-id">{order.id.to_string()}</code>
           {format!(" was placed on {} in region {}.", order.created_at.replace('T', " ").get(..16).unwrap_or(&order.created_at), order.region)}</p>
        <ul class="review-lines">
            {order.items.into_iter().map(|item| view! {
                <li>{format!("{} × {}", item.quantity, item.name)} " " <span>{format_price(item.line_total_cents)}</span></li>
            }).collect_view()}
        </ul>
        <p class="cart-total">"Total: " <strong data-testid="order-total">{format_price(order.total_cents)}</strong></p>
        <h2>"Shipping to"</h2>
        <address class="address">
            {[Some(shipping.name), Some(shipping.line1), shipping.line2, Some(format!("{} {}", shipping.postal_code, shipping.city)), Some(shipping.country)]
                .into_iter().flatten().map(|l| view! { <span>{l}</span><br /> }).collect_view()}
        </address>
        <p><a href="/orders">"All your orders"</a> " · " <a href="/">"Keep shopping"</a></p>
    }
}

/// The day an order was placed, as the API writes it (`2026-11-27`).
fn order_date(order: &Order) -> &str {
    order.created_at.get(..10).unwrap_or(&order.created_at)
}
