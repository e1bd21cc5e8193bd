//! How a prerendered page tells the app what it is: its `<body>` names the URL it was rendered for
//! ([`PATH_ATTRIBUTE`]) and its `<head>` carries the catalogue it was rendered from, as JSON
//! ([`CATALOGUE_SCRIPT_ID`]). `src/prerender.rs` writes both on the host; in the browser
//! [`here`] reads them, and the app hydrates the page from that catalogue instead of mounting.

use unishop_model::Product;

/// The `<body>` attribute naming the path the page was rendered for (`/`, `/product/{uuid}`).
pub const PATH_ATTRIBUTE: &str = "data-prerendered";

/// The id of the `<script type="application/json">` holding the page's catalogue.
pub const CATALOGUE_SCRIPT_ID: &str = "unishop-catalogue";

/// The catalogue the loaded page was prerendered from, when the page is the prerendered HTML of
/// the URL being shown (same path, no query string: a search is applied by the app, so a page
/// with one is built afresh). `None` for the shell, another URL's page, or an unreadable catalogue.
pub fn here() -> Option<Vec<Product>> {
    let window = crate::browser::window()?;
    let document = window.document()?;
    let rendered_for = document.body()?.get_attribute(PATH_ATTRIBUTE)?;
    let location = window.location();
    if location.pathname().ok()? != rendered_for || !location.search().ok()?.is_empty() {
        return None;
    }
    let json = document
        .get_element_by_id(CATALOGUE_SCRIPT_ID)?
        .text_content()?;
    match crate::json::from_str(&json) {
        Ok(catalogue) => Some(catalogue),
        Err(error) => {
            leptos::logging::warn!("the prerendered catalogue is unreadable: {error}");
            None
        }
    }
}

/// Empties a prerendered `<body>` that is not hydrated (see [`here`]), so the app mounts into a
/// clean page.
pub fn clear() {
    let body = crate::browser::window()
        .and_then(|w| w.document())
        .and_then(|d| d.body());
    if let Some(body) = body.filter(|b| b.has_attribute(PATH_ATTRIBUTE)) {
        let _ = body.remove_attribute(PATH_ATTRIBUTE);
        body.set_inner_html("");
    }
}
