//! What the shopper sees if the storefront itself fails.
//!
//! A panic stops the wasm (the release build aborts on panic), after which the page no longer
//! answers clicks. Rather than leave a page that silently ignores the shopper, the panic hook
//! logs the panic to the console and puts a notice on the page with a plain link that reloads
//! it. Failures of the API are not crashes: each page shows those in its own error panel with
//! Retry.

use std::sync::atomic::{AtomicBool, Ordering};

use wasm_bindgen::JsCast;

static CRASHED: AtomicBool = AtomicBool::new(false);

/// Installs the panic hook. Call once, before mounting the app.
pub fn report_crashes() {
    std::panic::set_hook(Box::new(|info| {
        CRASHED.store(true, Ordering::Relaxed);
        console_error_panic_hook::hook(info);
        show_crash_notice();
    }));
}

/// Whether the storefront has crashed; the router then lets the browser follow links, so that
/// every link still loads its page.
pub fn has_crashed() -> bool {
    CRASHED.load(Ordering::Relaxed)
}

/// Puts the crash notice at the top of the page (once) and moves focus to it.
pub fn show_crash_notice() {
    let Some(document) = crate::browser::window().and_then(|w| w.document()) else {
        return;
    };
    let (Some(body), Ok(notice)) = (document.body(), document.create_element("div")) else {
        return;
    };
    if document.get_element_by_id("crash-notice").is_some() {
        return;
    }
    notice.set_id("crash-notice");
    notice.set_class_name("error-panel crash-notice");
    let _ = notice.set_attribute("role", "alert");
    let _ = notice.set_attribute("tabindex", "-1");
    // `target="_top"` keeps the (stopped) router's click handler off the link, so following it
    // is an ordinary page load. Nothing is lost: the cart and session are in the browser's storage.
    notice.set_inner_html(
        "<p>Something went wrong in this page and it stopped working. \
         Your cart and your login are kept.</p>\
         <a class=\"button-link\" href=\"\" target=\"_top\">Reload the page</a>",
    );
    let _ = body.prepend_with_node_1(&notice);
    if let Ok(notice) = notice.dyn_into::<web_sys::HtmlElement>() {
        let _ = notice.focus();
    }
}
