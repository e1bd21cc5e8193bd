use leptos::prelude::*;

/// A labelled input whose error text is tied to it (`aria-describedby`, `aria-invalid`).
#[component]
pub fn Field(
    id: &'static str,
    label: &'static str,
    #[prop(default = "text")] kind: &'static str,
    #[prop(default = "off")] autocomplete: &'static str,
    #[prop(optional)] hint: Option<&'static str>,
    value: RwSignal<String>,
    #[prop(into)] error: Signal<Option<String>>,
) -> impl IntoView {
    let error_id = format!("{id}-error");
    let hint_id = format!("{id}-hint");
    let described_by = {
        let error_id = error_id.clone();
        let hint_id = hint_id.clone();
        move || {
            let mut ids = Vec::new();
            if hint.is_some() {
                ids.push(hint_id.clone());
            }
            if error.with(Option::is_some) {
                ids.push(error_id.clone());
            }
            (!ids.is_empty()).then(|| ids.join(" "))
        }
    };
    view! {
        <div class="field">
            <label for=id>{label}</label>
            {hint.map(|hint| view! { <p class="hint" id=hint_id.clone()>{hint}</p> })}
            <input
                id=id
                name=id
                type=kind
                autocomplete=autocomplete
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))
                aria-invalid=move || error.with(Option::is_some).then_some("true")
                aria-describedby=described_by
            />
            <p class="field-error" id=error_id>{move || error.get()}</p>
        </div>
    }
}

/// Moves keyboard focus to the first input marked invalid (after the view has updated).
pub fn focus_first_error() {
    request_animation_frame(|| {
        let first = crate::browser::window()
            .and_then(|w| w.document())
            .and_then(|d| d.query_selector("[aria-invalid='true']").ok().flatten());
        if let Some(element) = first {
            use wasm_bindgen::JsCast;
            if let Ok(input) = element.dyn_into::<web_sys::HtmlElement>() {
                let _ = input.focus();
            }
        }
    });
}
