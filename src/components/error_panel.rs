use leptos::prelude::*;

/// A failure the shopper can act on: what went wrong, and a button that tries again.
#[component]
pub fn ErrorPanel(message: String, on_retry: impl Fn() + 'static) -> impl IntoView {
    view! {
        <div class="error-panel" role="alert" data-testid="error-panel">
            <p>{message}</p>
            <button type="button" on:click=move |_| on_retry()>"Retry"</button>
        </div>
    }
}
