//! The browser, when there is one. The storefront's components also run on the host, where the
//! build renders them to HTML (feature `ssr`, `src/prerender.rs`); there a call into the browser's
//! API would panic, so every such call starts from [`window`], which is `None` off the web.

/// The browser's window; `None` when the code runs on the host (prerendering, host tests).
pub fn window() -> Option<web_sys::Window> {
    if cfg!(target_arch = "wasm32") {
        web_sys::window()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn there_is_no_window_on_the_host() {
        assert!(super::window().is_none());
    }
}
