use leptos::prelude::*;

use crate::api::Api;
use crate::components::error_panel::ErrorPanel;
use crate::loader::Loader;

/// `/status`: which region served the last response, and each configured API's health.
#[component]
pub fn StatusPage() -> impl IntoView {
    let api = expect_context::<Api>();
    let region = api.region;
    let health = Loader::new(move || {
        let api = api.clone();
        async move { api.health_of_each().await }
    });
    crate::router::set_title("Service status");
    view! {
        <h1 class="page-title" tabindex="-1">"Service status"</h1>
        <p>"The last answer came from region "
           <strong data-testid="served-region">{move || region.get().unwrap_or_else(|| "unknown".to_owned())}</strong> "."</p>
            {move || health.get().map(|result| match result {
                Ok(answers) => view! {
                    <table class="status-table">
                        <caption class="visually-hidden">"Health of each API region"</caption>
                        <thead><tr><th scope="col">"API"</th><th scope="col">"Region"</th><th scope="col">"Status"</th><th scope="col">"Version"</th></tr></thead>
                        <tbody>
                            {answers.into_iter().map(|(label, answer)| match answer {
                                Ok(h) => view! { <tr data-testid="health-row"><th scope="row">{label}</th><td>{h.region}</td><td>{h.status}</td><td>{h.version}</td></tr> }.into_any(),
                                Err(e) => view! { <tr data-testid="health-row"><th scope="row">{label}</th><td>"—"</td><td>{format!("down: {e}")}</td><td>"—"</td></tr> }.into_any(),
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any(),
                Err(error) => view! { <ErrorPanel message=error.to_string() on_retry=move || health.reload() /> }.into_any(),
            }).unwrap_or_else(|| view! { <p aria-busy="true">"Checking…"</p> }.into_any())}
        <button type="button" class="secondary" on:click=move |_| health.reload()>"Check again"</button>
    }
}
