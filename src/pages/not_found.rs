use leptos::prelude::*;

/// Any address the shop does not have.
#[component]
pub fn NotFoundPage() -> impl IntoView {
    crate::router::set_title("Page not found");
    view! {
        <h1 class="page-title" tabindex="-1">"Page not found"</h1>
        <p>"There is nothing at this address. The unicorns are all in the catalogue."</p>
        <p><a href="/">"Back to the catalogue"</a></p>
    }
}
