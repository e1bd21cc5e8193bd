//! How a prerendered page tells the app what it is: its `<body>` names the URL it was rendered for
//! ([`PATH_ATTRIBUTE`]) and its `<head>` carries the catalogue it was rendered from, as JSON
//! ([`CATALOGUE_SCRIPT_ID`]). `src/prerender.rs` writes both on the host, and puts the catalogue
//! in the shell too; in the browser the app hydrates the page from that catalogue when
//! [`is_this_page`], and otherwise mounts, with the catalogue as the API's stand-in while it is
//! down.

use unishop_model::Product;

/// The `<body>` attribute naming the path the page was rendered for (`/`, `/product/{uuid}`).
pub const PATH_ATTRIBUTE: &str = "data-prerendered";

/// The id of the `<script type="application/json">` holding the page's catalogue.
pub const CATALOGUE_SCRIPT_ID: &str = "unishop-catalogue";

/// Whether the loaded page is the prerendered HTML of the URL being shown (same path, no query
/// string: a search is applied by the app, so a page with one is built afresh), to be hydrated.
pub fn is_this_page() -> bool {
    let Some(window) = crate::browser::window() else {
        return false;
    };
    let rendered_for = window
        .document()
        .and_then(|d| d.body())
        .and_then(|b| b.get_attribute(PATH_ATTRIBUTE));
    let location = window.location();
    rendered_for.is_some_and(|path| location.pathname().ok() == Some(path))
        && location.search().is_ok_and(|search| search.is_empty())
}

/// The catalogue the loaded page carries: every prerendered page and the shell have the one the
/// site was built with, which serves when the API cannot answer. `None` for a page built without
/// one (`trunk serve`), or an unreadable one.
pub fn catalogue() -> Option<Vec<Product>> {
    let json = crate::browser::window()?
        .document()?
        .get_element_by_id(CATALOGUE_SCRIPT_ID)?
        .text_content()?;
    match crate::json::from_str(&json) {
        Ok(catalogue) => Some(catalogue),
        Err(error) => {
            leptos::logging::warn!("the page's catalogue is unreadable: {error}");
            None
        }
    }
}

/// Empties a prerendered `<body>` that is not hydrated (see [`is_this_page`]), so the app mounts into a
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
