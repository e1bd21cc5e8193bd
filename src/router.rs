//! The storefront's router. The page is a pure function of the URL's path ([`Route::parse`]),
//! links are ordinary `<a href>`s, and one click listener turns clicks on this site's links into
//! history entries instead of page loads.
//!
//! leptos_router does this and much more (nested routes, loaders, forms); this shop needs only
//! flat routes and a query string, and the smaller router saves about a tenth of the wasm.

use std::sync::atomic::{AtomicU64, Ordering};

use leptos::prelude::*;
use uuid::Uuid;
use wasm_bindgen::{JsCast, JsValue};

/// Every page of the shop, as its path names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    Catalogue,
    Product(Uuid),
    Cart,
    Login,
    Signup,
    Shipping,
    Review,
    Orders,
    Order(Uuid),
    Status,
    NotFound,
}

impl Route {
    /// The route of a URL path (`/product/{uuid}`); a trailing slash is ignored and anything
    /// unknown, including a malformed uuid, is [`Route::NotFound`].
    pub fn parse(path: &str) -> Route {
        let path = path.strip_suffix('/').unwrap_or(path);
        let segments: Vec<&str> = path.split('/').skip(1).collect();
        let uuid = |raw: &str| Uuid::parse_str(&decode_component(raw)).ok();
        match segments.as_slice() {
            [] => Route::Catalogue,
            ["product", id] => uuid(id).map_or(Route::NotFound, Route::Product),
            ["cart"] => Route::Cart,
            ["login"] => Route::Login,
            ["signup"] => Route::Signup,
            ["checkout", "shipping"] => Route::Shipping,
            ["checkout", "review"] => Route::Review,
            ["orders"] => Route::Orders,
            ["orders", id] => uuid(id).map_or(Route::NotFound, Route::Order),
            ["status"] => Route::Status,
            _ => Route::NotFound,
        }
    }
}

/// One parameter of a query string (`?q=pool+float&sort=price`), decoded; the first wins.
pub fn query_value(search: &str, name: &str) -> Option<String> {
    search
        .trim_start_matches('?')
        .split('&')
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
        .find(|(key, _)| decode_component(key) == name)
        .map(|(_, value)| decode_component(value))
}

/// `raw` when it is a path of this site that is safe to go to (after logging in, say): one leading
/// `/`, and no backslash, whitespace or control character, which browsers drop or rewrite (so
/// `/\t/host` or `/\\host` would become `//host`, another site).
pub fn local_path(raw: &str) -> Option<&str> {
    let odd = |c: char| c == '\\' || c.is_whitespace() || c.is_control();
    (raw.starts_with('/') && !raw.starts_with("//") && !raw.chars().any(odd)).then_some(raw)
}

/// Percent-encodes every byte of `value` but ASCII letters, digits and `-_.~`, for a query value.
pub fn encode_component(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Decodes `application/x-www-form-urlencoded` text: `+` is a space, `%XX` a byte. A `%` not
/// followed by two hex digits stays as it is, and bytes that are not UTF-8 become U+FFFD.
pub fn decode_component(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |at: usize| bytes.get(at).and_then(|b| (*b as char).to_digit(16));
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match (hex(i + 1), hex(i + 2)) {
                (Some(high), Some(low)) => {
                    out.push((high * 16 + low) as u8);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The URL the shopper is on, kept in step with the browser's history, and the way to change it.
/// Shared through context. (Not leptos_router's `Location`, a read-only view of the URL.)
#[derive(Clone, Copy)]
pub struct PageUrl {
    path: RwSignal<String>,
    search: RwSignal<String>,
}

impl PageUrl {
    /// Reads the browser's URL, follows Back and Forward, and takes over clicks on this site's
    /// links. Call once, for the whole app.
    pub fn install() -> PageUrl {
        let page_url = PageUrl {
            path: RwSignal::new(String::new()),
            search: RwSignal::new(String::new()),
        };
        page_url.read_browser_url();
        // The listeners live as long as the page: their handles are never removed.
        window_event_listener(leptos::ev::popstate, move |_| page_url.read_browser_url());
        window_event_listener(leptos::ev::click, move |ev| page_url.follow_link(ev));
        page_url
    }

    /// A fixed URL (`/product/{uuid}`, `/?q=float`), for rendering a page on the host: no browser,
    /// no history.
    pub fn at(path_and_query: &str) -> PageUrl {
        let (path, search) = match path_and_query.find('?') {
            Some(at) => path_and_query.split_at(at),
            None => (path_and_query, ""),
        };
        PageUrl {
            path: RwSignal::new(path.to_owned()),
            search: RwSignal::new(search.to_owned()),
        }
    }

    /// The current page, tracked.
    pub fn route(&self) -> Route {
        self.path.with(|path| Route::parse(path))
    }

    /// The current path, tracked.
    pub fn path(&self) -> String {
        self.path.get()
    }

    /// The current path and query string (`/checkout/review`, `/?q=float`), untracked.
    pub fn path_and_query(&self) -> String {
        self.path.get_untracked() + &self.search.get_untracked()
    }

    /// A parameter of the current query string, tracked.
    pub fn query(&self, name: &str) -> Option<String> {
        self.search.with(|search| query_value(search, name))
    }

    /// Goes to a URL of this site (`/cart`, `/?q=float`) as a new history entry, and shows the
    /// new page from its top. Returns false, and stays, for a URL the browser refuses (another
    /// origin).
    pub fn navigate(&self, url: &str) -> bool {
        self.go(url, false)
    }

    /// Like [`PageUrl::navigate`], but in place of the current history entry: for a change the
    /// shopper would not step back through (another sort order).
    pub fn replace(&self, url: &str) -> bool {
        self.go(url, true)
    }

    fn go(&self, url: &str, replace: bool) -> bool {
        let Some(window) = crate::browser::window() else {
            return false;
        };
        let Ok(history) = window.history() else {
            return false;
        };
        // Following a link to the page already shown replaces its entry, as the browser does.
        let changed = if replace || url == self.path_and_query() {
            history.replace_state_with_url(&JsValue::NULL, "", Some(url))
        } else {
            history.push_state_with_url(&JsValue::NULL, "", Some(url))
        };
        if changed.is_err() {
            return false;
        }
        self.read_browser_url();
        window.scroll_to_with_x_and_y(0.0, 0.0);
        true
    }

    fn read_browser_url(&self) {
        let Some(location) = crate::browser::window().map(|w| w.location()) else {
            return;
        };
        let path = location.pathname().unwrap_or_else(|_| "/".to_owned());
        let search = location.search().unwrap_or_default();
        // Setting only what changed keeps a query change from re-creating the page.
        let previous = self.path.get_untracked();
        if previous != path {
            self.path.set(path);
            // After a navigation (not the first load), screen-reader users hear where they are.
            if !previous.is_empty() {
                let navigation = NAVIGATIONS.fetch_add(1, Ordering::Relaxed) + 1;
                focus_heading(navigation, HEADING_WAIT_FRAMES);
            }
        }
        if self.search.get_untracked() != search {
            self.search.set(search);
        }
    }

    /// Handles a click on a link to this site without reloading the page. Clicks the browser
    /// should keep (modifier keys, other buttons, `target`, `download`, another origin, a spot on
    /// the same page, anything a handler already took) are left alone.
    fn follow_link(&self, ev: web_sys::MouseEvent) {
        if ev.default_prevented()
            || crate::crash::has_crashed()
            || ev.button() != 0
            || ev.meta_key()
            || ev.ctrl_key()
            || ev.shift_key()
            || ev.alt_key()
        {
            return;
        }
        let anchor = ev
            .target()
            .and_then(|target| target.dyn_into::<web_sys::Element>().ok())
            .and_then(|element| element.closest("a[href]").ok().flatten())
            .and_then(|element| element.dyn_into::<web_sys::HtmlAnchorElement>().ok());
        let (Some(anchor), Some(window)) = (anchor, crate::browser::window()) else {
            return;
        };
        let here = window.location();
        let target = anchor.target();
        if !(target.is_empty() || target == "_self")
            || anchor.has_attribute("download")
            || here.origin().ok() != Some(anchor.origin())
        {
            return;
        }
        let (path, search, hash) = (anchor.pathname(), anchor.search(), anchor.hash());
        if !hash.is_empty()
            && here.pathname().ok() == Some(path.clone())
            && here.search().ok() == Some(search.clone())
        {
            return;
        }
        ev.prevent_default();
        if !self.navigate(&format!("{path}{search}{hash}")) {
            // Refused by the browser: let it load the page instead.
            let _ = here.set_href(&anchor.href());
        }
    }
}

/// Navigations so far; a heading search stops once a newer navigation has begun.
static NAVIGATIONS: AtomicU64 = AtomicU64::new(0);

/// How long to wait for a slow page's heading: about 15 seconds of frames, past the API's timeout.
const HEADING_WAIT_FRAMES: u32 = 900;

/// Focuses `main h1` once the page shows it, checking each frame: a page that is still loading
/// shows its heading only when its data has come.
fn focus_heading(navigation: u64, frames_left: u32) {
    request_animation_frame(move || {
        if NAVIGATIONS.load(Ordering::Relaxed) != navigation {
            return;
        }
        let heading = crate::browser::window()
            .and_then(|w| w.document())
            .and_then(|d| d.query_selector("main h1").ok().flatten());
        match heading {
            Some(element) => {
                if let Ok(heading) = element.dyn_into::<web_sys::HtmlElement>() {
                    let _ = heading.focus();
                }
            }
            None if frames_left > 0 => focus_heading(navigation, frames_left - 1),
            None => {}
        }
    });
}

/// Sets `document.title` for a page: "Cart · The Unicorn Shop" (WCAG 2.4.2).
pub fn set_title(page: &str) {
    if let Some(document) = crate::browser::window().and_then(|w| w.document()) {
        document.set_title(&page_title(page));
    }
}

/// The document title of a page; the catalogue's is the shop's name alone.
pub fn page_title(page: &str) -> String {
    if page.is_empty() {
        SHOP_NAME.to_owned()
    } else {
        format!("{page} · {SHOP_NAME}")
    }
}

const SHOP_NAME: &str = "The Unicorn Shop";

/// The app's [`PageUrl`].
pub fn use_page_url() -> PageUrl {
    expect_context::<PageUrl>()
}

#[cfg(test)]
mod tests {
    use super::*;

    const UUID: &str = "3c5e1a0e-5b0e-5c38-9d3f-6b1f2f0a9d11";

    #[test]
    fn parses_every_page() {
        let uuid = Uuid::parse_str(UUID).expect("a uuid");
        for (path, route) in [
            ("/", Route::Catalogue),
            ("", Route::Catalogue),
            (&format!("/product/{UUID}"), Route::Product(uuid)),
            (&format!("/product/{UUID}/"), Route::Product(uuid)),
            ("/cart", Route::Cart),
            ("/cart/", Route::Cart),
            ("/login", Route::Login),
            ("/signup", Route::Signup),
            ("/checkout/shipping", Route::Shipping),
            ("/checkout/review", Route::Review),
            ("/orders", Route::Orders),
            (&format!("/orders/{UUID}"), Route::Order(uuid)),
            ("/status", Route::Status),
        ] {
            assert_eq!(Route::parse(path), route, "{path}");
        }
    }

    #[test]
    fn anything_else_is_not_found() {
        for path in [
            "/product",
            "/product/not-a-uuid",
            &format!("/product/{UUID}/reviews"),
            "/orders/42",
            "/checkout",
            "/Cart",
            "//cart",
            "/index.html",
        ] {
            assert_eq!(Route::parse(path), Route::NotFound, "{path}");
        }
    }

    #[test]
    fn only_paths_of_this_site_are_local() {
        for path in [
            "/",
            "/checkout/shipping",
            "/?q=pool%20float",
            "/orders/42#top",
        ] {
            assert_eq!(local_path(path), Some(path), "{path}");
        }
        for path in [
            "",
            "checkout",
            "//evil.example",
            "/\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/ /evil.example",
            "https://evil.example/",
            "javascript:alert(1)",
        ] {
            assert_eq!(local_path(path), None, "{path:?}");
        }
    }

    #[test]
    fn reads_query_values() {
        let search = "?q=pool+float&category=Pool%20%26%20Beach&sort=price&q=second&flag";
        assert_eq!(query_value(search, "q").as_deref(), Some("pool float"));
        assert_eq!(
            query_value(search, "category").as_deref(),
            Some("Pool & Beach")
        );
        assert_eq!(query_value(search, "flag").as_deref(), Some(""));
        assert_eq!(query_value(search, "next"), None);
        assert_eq!(query_value("", "q"), None);
    }

    #[test]
    fn a_fixed_page_url_splits_its_path_and_query() {
        let page_url = PageUrl::at("/?q=float&sort=price");
        assert_eq!(page_url.route(), Route::Catalogue);
        assert_eq!(page_url.query("q").as_deref(), Some("float"));
        assert_eq!(page_url.path_and_query(), "/?q=float&sort=price");
        let product = format!("/product/{UUID}");
        assert_eq!(
            PageUrl::at(&product).route(),
            Route::Product(Uuid::parse_str(UUID).expect("a uuid"))
        );
        assert_eq!(PageUrl::at("/cart").query("q"), None);
    }

    #[test]
    fn titles_name_the_page_then_the_shop() {
        assert_eq!(page_title("Your cart"), "Your cart · The Unicorn Shop");
        assert_eq!(page_title(""), "The Unicorn Shop");
    }

    #[test]
    fn encoding_a_next_path_round_trips() {
        let here = "/checkout/review?x=a b&y=ü";
        assert_eq!(decode_component(&encode_component(here)), here);
        assert_eq!(encode_component("/orders"), "%2Forders");
    }

    #[test]
    fn decodes_what_the_browser_encodes_and_survives_the_rest() {
        assert_eq!(decode_component("%C3%BCnic%C3%B8rn"), "ünicørn");
        assert_eq!(decode_component("100%"), "100%");
        assert_eq!(decode_component("%zz%4"), "%zz%4");
        assert_eq!(decode_component("%FF"), "\u{FFFD}");
    }

    #[test]
    fn decoding_undoes_the_catalogue_query_encoding() {
        use crate::catalogue_query::CatalogueQuery;
        let query = CatalogueQuery::from_params(Some("Glitter & 🦄 +".into()), None, None);
        let url = query.to_url();
        let search = url.trim_start_matches('/');
        assert_eq!(query_value(search, "q").as_deref(), Some("Glitter & 🦄 +"));
    }
}
