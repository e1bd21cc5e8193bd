//! `/checkout/shipping` -> `/checkout/review` -> place order -> `/orders/{id}`.

use leptos::prelude::*;
use unishop_model::{format_price, line_total, FieldError};

use crate::api::{Api, ApiError};
use crate::checkout::{CheckoutDraft, FIELDS};
use crate::components::field::focus_first_error;
use crate::loader::Loader;
use crate::router::{set_title, use_page_url};
use crate::session::Backend;
use crate::state::{new_idempotency_key, Shop};

/// Why the shopper cannot check out now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Blocker {
    LoggedOut,
    LegacyBackend,
    EmptyCart,
}

/// What stands in the way of checking out, if anything; memoised, so the step's form is built
/// once rather than again on every cart or session change.
fn checkout_blocker(shop: Shop) -> Memo<Option<Blocker>> {
    Memo::new(
        move |_| match shop.session.with(|s| s.as_ref().map(|s| s.backend)) {
            None => Some(Blocker::LoggedOut),
            Some(Backend::Legacy) => Some(Blocker::LegacyBackend),
            Some(Backend::Unishop)
                if !shop.cart_loading.get() && shop.lines.with(Vec::is_empty) =>
            {
                Some(Blocker::EmptyCart)
            }
            Some(Backend::Unishop) => None,
        },
    )
}

/// What the page shows in place of a checkout step.
fn blocker_notice(blocker: Blocker) -> AnyView {
    match blocker {
        Blocker::LoggedOut => view! {
            <p>"Log in to check out. Your cart is kept."</p>
            <a href="/login?next=/checkout/shipping" class="button-link primary">"Log in"</a>
        }
        .into_any(),
        Blocker::LegacyBackend => view! {
            <p class="notice">"Checkout is not available: this shop's server takes no orders online yet."</p>
        }
        .into_any(),
        Blocker::EmptyCart => view! {
            <p>"Your cart is empty, so there is nothing to check out."</p>
            <a href="/" class="button-link">"Browse the unicorns"</a>
        }
        .into_any(),
    }
}

#[component]
pub fn ShippingPage() -> impl IntoView {
    let shop = expect_context::<Shop>();
    let page_url = use_page_url();
    let blocker = checkout_blocker(shop);
    let errors = RwSignal::new(Vec::<FieldError>::new());
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        match shop.checkout.with_untracked(CheckoutDraft::validate) {
            Ok(_) => {
                errors.set(Vec::new());
                shop.checkout.update(|draft| {
                    if draft.idempotency_key.is_empty() {
                        draft.idempotency_key = new_idempotency_key();
                    }
                });
                page_url.navigate("/checkout/review");
            }
            Err(failing) => {
                errors.set(failing);
                focus_first_error();
            }
        }
    };
    set_title("Checkout: shipping");
    view! {
        <h1 class="page-title" tabindex="-1">"Checkout: shipping"</h1>
        <p class="steps">"Step 1 of 2"</p>
        {move || match blocker.get() {
            Some(blocker) => blocker_notice(blocker),
            None => view! {
            <form class="account-form" on:submit=on_submit novalidate>
                {FIELDS
                    .into_iter()
                    .map(|(field, label, max)| {
                        let error = move || errors.with(|all| all.iter().find(|e| e.field == field).map(|e| e.message.clone()));
                        let autocomplete = match field {
                            "name" => "name",
                            "line1" => "address-line1",
                            "line2" => "address-line2",
                            "city" => "address-level2",
                            "postalCode" => "postal-code",
                            _ => "country-name",
                        };
                        let error_id = format!("{field}-error");
                        view! {
                            <div class="field">
                                <label for=field>{label}</label>
                                <input
                                    id=field
                                    name=field
                                    autocomplete=autocomplete
                                    maxlength=max
                                    prop:value=move || shop.checkout.with(|d| d.field(field).to_owned())
                                    on:input=move |ev| shop.checkout.update(|d| d.set_field(field, event_target_value(&ev)))
                                    aria-invalid=move || error().is_some().then_some("true")
                                    aria-describedby=error_id.clone()
                                />
                                <p class="field-error" id=error_id>{error}</p>
                            </div>
                        }
                    })
                    .collect_view()}
                <button type="submit">"Continue to review"</button>
            </form>
            }.into_any(),
        }}
        <p><a href="/cart">"Back to your cart"</a></p>
    }
}

#[component]
pub fn ReviewPage() -> impl IntoView {
    let api = expect_context::<Api>();
    let shop = expect_context::<Shop>();
    let page_url = use_page_url();
    let blocker = checkout_blocker(shop);
    let catalogue = Loader::new({
        let api = api.clone();
        move || {
            let api = api.clone();
            async move { api.products().await }
        }
    });
    let error = RwSignal::new(None::<String>);
    let placing = RwSignal::new(false);
    let place = move |_| {
        if placing.get_untracked() {
            return;
        }
        let Some(session) = shop.session.get_untracked() else {
            return;
        };
        let draft = shop.checkout.get_untracked();
        let Ok(address) = draft.validate() else {
            page_url.navigate("/checkout/shipping");
            return;
        };
        let key = if draft.idempotency_key.is_empty() {
            let key = new_idempotency_key();
            shop.checkout.update(|d| d.idempotency_key = key.clone());
            key
        } else {
            draft.idempotency_key.clone()
        };
        placing.set(true);
        error.set(None);
        let api = api.clone();
        leptos::task::spawn_local(async move {
            match api.place_order(&session, address, &key).await {
                Ok(order) => {
                    shop.checkout.set(CheckoutDraft::default());
                    shop.lines.set(Vec::new());
                    shop.placed_order.set(Some(order.id));
                    shop.announce("Order placed. Thank you!".to_owned());
                    page_url.navigate(&format!("/orders/{}", order.id));
                }
                Err(ApiError::Rejected { status: 409, .. }) => {
                    error.set(Some(
                        "Your cart is empty, so there is nothing to order.".to_owned(),
                    ));
                    shop.refresh_cart(api);
                }
                // The same key goes with the retry, so the order is placed at most once.
                Err(other) => error.set(Some(format!(
                    "{other} Your order was not placed; pressing Place order again is safe."
                ))),
            }
            placing.set(false);
        });
    };
    set_title("Checkout: review");
    view! {
        <h1 class="page-title" tabindex="-1">"Checkout: review"</h1>
        <p class="steps">"Step 2 of 2"</p>
        {move || match blocker.get() {
            Some(blocker) => blocker_notice(blocker),
            None => view! {
            <h2>"Shipping to"</h2>
            <address class="address" data-testid="review-address">
                {move || {
                    let d = shop.checkout.get();
                    [d.name, d.line1, d.line2, format!("{} {}", d.postal_code, d.city), d.country]
                        .into_iter()
                        .filter(|l| !l.trim().is_empty())
                        .map(|l| view! { <span>{l}</span><br /> })
                        .collect_view()
                }}
            </address>
            <p><a href="/checkout/shipping">"Change the address"</a></p>
            <h2>"Items"</h2>
                {move || catalogue.get().map(|result| match result {
                    Ok(products) => {
                        let lines = shop.lines.get();
                        let mut total = 0;
                        let rows = lines.iter().filter_map(|line| {
                            let product = products.iter().find(|p| p.uuid == line.uuid)?;
                            let amount = line_total(product.cents(), line.quantity);
                            total += amount;
                            Some(view! {
                                <li>{format!("{} × {}", line.quantity, product.name)} " " <span>{format_price(amount)}</span></li>
                            })
                        }).collect_view();
                        view! {
                            <ul class="review-lines">{rows}</ul>
                            <p class="cart-total">"Total: " <strong data-testid="review-total">{format_price(total)}</strong></p>
                        }.into_any()
                    }
                    Err(e) => view! { <p class="form-problem">{e.to_string()}</p> }.into_any(),
                }).unwrap_or_else(|| view! { <p aria-busy="true">"Loading…"</p> }.into_any())}
            <div role="alert">{move || error.get().map(|e| view! { <p class="form-problem" data-testid="form-problem">{e}</p> })}</div>
            <button type="button" class="primary" on:click=place.clone() disabled=move || placing.get()>
                {move || if placing.get() { "Placing order…" } else { "Place order" }}
            </button>
            }.into_any(),
        }}
    }
}
