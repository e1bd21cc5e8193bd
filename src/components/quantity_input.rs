use leptos::prelude::*;
use unishop_model::MAX_QUANTITY;

/// A quantity box (1 to 99) bound to `value`, marked invalid while `error` holds a message and
/// described by the element `{id}-error` that shows it.
#[component]
pub fn QuantityInput(
    id: String,
    value: RwSignal<String>,
    error: RwSignal<Option<String>>,
) -> impl IntoView {
    let described_by = format!("{id}-error");
    view! {
        <input
            id=id
            type="number"
            inputmode="numeric"
            min="1"
            max=MAX_QUANTITY
            prop:value=move || value.get()
            on:input=move |ev| value.set(event_target_value(&ev))
            aria-invalid=move || error.with(Option::is_some).then_some("true")
            aria-describedby=described_by
        />
    }
}
