//! Components rendered in a real browser (headless Chromium through wasm-bindgen-test-runner and
//! chromedriver): `cargo xtask test` runs them with
//! `cargo test --target wasm32-unknown-unknown --test components`.
#![cfg(target_arch = "wasm32")]

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use leptos::prelude::*;
use unishop::components::error_panel::ErrorPanel;
use unishop::components::field::Field;
use unishop::components::product_card::ProductCard;
use unishop_model::Product;
use uuid::Uuid;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// Mounts a view into a fresh element of the page and returns that element.
fn mount<V: IntoView + 'static>(view: impl FnOnce() -> V + 'static) -> web_sys::HtmlElement {
    let document = web_sys::window()
        .and_then(|w| w.document())
        .expect("a document");
    let host: web_sys::HtmlElement = document
        .create_element("div")
        .expect("a div")
        .dyn_into()
        .expect("an HTML element");
    document
        .body()
        .expect("a body")
        .append_child(&host)
        .expect("appended");
    // Leaked on purpose: the view stays mounted for the rest of the test.
    std::mem::forget(leptos::mount::mount_to(host.clone(), view));
    host
}

fn query(root: &web_sys::HtmlElement, selector: &str) -> web_sys::HtmlElement {
    root.query_selector(selector)
        .expect("a valid selector")
        .unwrap_or_else(|| panic!("nothing matches {selector}"))
        .dyn_into()
        .expect("an HTML element")
}

fn text(root: &web_sys::HtmlElement, selector: &str) -> String {
    query(root, selector).text_content().unwrap_or_default()
}

/// Lets effects and scheduled renders run.
async fn settle() {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        web_sys::window()
            .expect("a window")
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 20)
            .expect("a timer");
    });
    wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .expect("the timer fires");
}

#[wasm_bindgen_test]
fn a_product_card_shows_name_link_category_price_and_alt_text() {
    let uuid = Uuid::from_u128(42);
    let host = mount(move || {
        view! {
            <ProductCard product=Product {
                uuid,
                name: "Hooded Unicorn Blanket".into(),
                description: None,
                price: 32.0,
                price_cents: Some(3_200),
                image: Some("/images/hooded-blanket.svg".into()),
                image_alt: Some("A lilac fleece blanket".into()),
                category: Some("Home".into()),
            } />
        }
    });
    assert_eq!(text(&host, ".product-name"), "Hooded Unicorn Blanket");
    assert_eq!(
        query(&host, ".product-name a").get_attribute("href"),
        Some(format!("/product/{uuid}"))
    );
    assert_eq!(text(&host, ".product-category"), "Home");
    assert_eq!(text(&host, ".product-price"), "$32.00");
    assert_eq!(
        query(&host, "img").get_attribute("alt").as_deref(),
        Some("A lilac fleece blanket")
    );
}

#[wasm_bindgen_test]
fn a_legacy_product_without_extensions_still_renders_a_price_and_alt_text() {
    let host = mount(|| {
        view! {
            <ProductCard product=Product {
                uuid: Uuid::from_u128(7),
                name: "UnicornPink".into(),
                description: None,
                price: 100.0,
                price_cents: None,
                image: Some("/images/baby-dress.svg".into()),
                image_alt: None,
                category: None,
            } />
        }
    });
    assert_eq!(text(&host, ".product-price"), "$100.00");
    assert_eq!(
        query(&host, "img").get_attribute("alt").as_deref(),
        Some("Picture of the UnicornPink")
    );
    assert!(host
        .query_selector(".product-category")
        .expect("valid")
        .is_none());
}

#[wasm_bindgen_test]
fn the_error_panel_retries_on_click() {
    let clicks = Arc::new(AtomicU32::new(0));
    let counter = clicks.clone();
    let host = mount(move || {
        view! {
            <ErrorPanel
                message="The shop could not be reached.".to_owned()
                on_retry=move || { counter.fetch_add(1, Ordering::SeqCst); }
            />
        }
    });
    assert_eq!(
        query(&host, "[role=alert]")
            .get_attribute("data-testid")
            .as_deref(),
        Some("error-panel")
    );
    assert_eq!(text(&host, "p"), "The shop could not be reached.");
    query(&host, "button").click();
    query(&host, "button").click();
    assert_eq!(clicks.load(Ordering::SeqCst), 2);
}

#[wasm_bindgen_test]
async fn a_field_ties_its_error_to_the_input() {
    let value = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let host = mount(move || {
        view! { <Field id="email" label="Email" kind="email" value=value error=error /> }
    });
    let input = query(&host, "input");
    assert_eq!(
        query(&host, "label").get_attribute("for").as_deref(),
        Some("email")
    );
    assert_eq!(input.get_attribute("aria-invalid"), None);
    error.set(Some("Enter an email address.".to_owned()));
    settle().await;
    assert_eq!(input.get_attribute("aria-invalid").as_deref(), Some("true"));
    assert_eq!(
        input.get_attribute("aria-describedby").as_deref(),
        Some("email-error")
    );
    assert_eq!(text(&host, "#email-error"), "Enter an email address.");
    value.set("ada@example.com".to_owned());
    settle().await;
    let typed: web_sys::HtmlInputElement = input.dyn_into().expect("an input");
    assert_eq!(typed.value(), "ada@example.com");
}

#[wasm_bindgen_test]
fn the_browser_json_reads_what_both_backends_send() {
    use unishop::json::{from_str, JsonError};
    use unishop_model::Basket;

    // A legacy product: a float price and none of our extensions.
    let products: Vec<Product> = from_str(
        r#"[{"uuid":"00000000-0000-0000-0000-000000000001","name":"Float","price":21.99,"extra":1}]"#,
    )
    .expect("a legacy catalogue");
    assert_eq!(products[0].price, 21.99);
    assert_eq!(products[0].cents(), 2199);
    assert_eq!(products[0].description, None);
    // The legacy Lambda answers `null` for a user without a basket.
    assert_eq!(from_str::<Option<Basket>>("null"), Ok(None));
    assert_eq!(from_str::<Vec<Product>>("[{"), Err(JsonError::Syntax));
    assert_eq!(from_str::<Vec<Product>>(""), Err(JsonError::Syntax));
    assert!(matches!(
        from_str::<Vec<Product>>(r#"[{"uuid":"not-a-uuid","name":"x","price":1}]"#),
        Err(JsonError::Shape(_))
    ));
    assert_eq!(
        from_str::<Vec<Product>>(r#"{"uuid":1}"#),
        Err(JsonError::Shape(
            "expected a sequence, found an object".to_owned()
        ))
    );
    assert_eq!(
        from_str::<Product>(r#"{"uuid":"00000000-0000-0000-0000-000000000001","price":1}"#),
        Err(JsonError::Shape("missing field name".to_owned()))
    );
    // Quantities are whole and unsigned: a fraction or a negative number is refused.
    assert_eq!(from_str::<u32>("7"), Ok(7));
    assert!(matches!(from_str::<u32>("1.5"), Err(JsonError::Shape(_))));
    assert!(matches!(from_str::<u32>("-1"), Err(JsonError::Shape(_))));
    assert_eq!(from_str::<i64>("-1700000000"), Ok(-1_700_000_000));
    assert_eq!(
        from_str::<Vec<Option<bool>>>("[true,null,false]"),
        Ok(vec![Some(true), None, Some(false)])
    );
}

#[wasm_bindgen_test]
fn a_crash_leaves_a_notice_with_a_way_to_reload() {
    unishop::crash::show_crash_notice();
    unishop::crash::show_crash_notice();
    let document = web_sys::window()
        .and_then(|w| w.document())
        .expect("a document");
    let notice: web_sys::HtmlElement = document
        .get_element_by_id("crash-notice")
        .expect("the notice")
        .dyn_into()
        .expect("an HTML element");
    assert_eq!(notice.get_attribute("role").as_deref(), Some("alert"));
    let body = document.body().expect("a body");
    assert_eq!(
        body.first_element_child().map(|e| e.id()).as_deref(),
        Some("crash-notice"),
        "at the top of the page"
    );
    assert_ne!(
        notice.next_element_sibling().map(|e| e.id()).as_deref(),
        Some("crash-notice"),
        "one notice, however many panics"
    );
    assert_eq!(
        document.active_element().map(|e| e.id()).as_deref(),
        Some("crash-notice")
    );
    let reload = query(&notice, "a");
    assert_eq!(reload.text_content().as_deref(), Some("Reload the page"));
    // Not a link the router takes over: following it loads the page again.
    assert_eq!(reload.get_attribute("target").as_deref(), Some("_top"));
    notice.remove();
}

#[wasm_bindgen_test]
fn the_browser_json_keeps_a_session_and_a_checkout_through_a_reload() {
    use unishop::checkout::CheckoutDraft;
    use unishop::session::{Backend, StoredSession};
    use unishop_model::User;

    let session = StoredSession {
        user: User {
            uuid: Uuid::from_u128(7),
            email: "ada@example.com".to_owned(),
            first_name: Some("Ada".to_owned()),
            last_name: None,
        },
        token: Some("token \"with\" quotes \u{1F984}".to_owned()),
        expires_at: 4_102_444_800,
        backend: Backend::Unishop,
    };
    let json = session.to_json();
    assert!(json.contains("\"expires_at\":4102444800"), "{json}");
    assert_eq!(StoredSession::from_json(&json, 0), Some(session));

    let mut draft = CheckoutDraft::default();
    draft.set_field("name", "Ada Lovelace".to_owned());
    draft.set_field("city", "Zürich".to_owned());
    assert_eq!(CheckoutDraft::from_json(&draft.to_json()), draft);
}

#[wasm_bindgen_test]
async fn a_loader_shows_the_newest_answer_even_when_an_older_one_arrives_later() {
    use std::cell::RefCell;
    use std::rc::Rc;
    use unishop::loader::Loader;

    // Each fetch waits on a promise the test resolves, in the order the test chooses.
    let pending: Rc<RefCell<Vec<js_sys::Function>>> = Rc::default();
    let wanted = RwSignal::new(1u32);
    let host = mount({
        let pending = pending.clone();
        move || {
            let answer = Loader::new(move || {
                let n = wanted.get();
                let promise =
                    js_sys::Promise::new(&mut |resolve, _| pending.borrow_mut().push(resolve));
                async move {
                    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
                    n
                }
            });
            view! {
                <p>{move || answer.get().map_or("loading".to_owned(), |n| n.to_string())}</p>
                <button on:click=move |_| answer.reload()>"Reload"</button>
            }
        }
    });
    let resolve = |index: usize| {
        let resolve = pending.borrow()[index].clone();
        resolve
            .call0(&wasm_bindgen::JsValue::NULL)
            .expect("resolved");
    };
    settle().await;
    assert_eq!(text(&host, "p"), "loading");
    wanted.set(2);
    settle().await;
    assert_eq!(
        pending.borrow().len(),
        2,
        "a change of what the fetch reads fetches again"
    );
    resolve(1);
    settle().await;
    assert_eq!(text(&host, "p"), "2");
    resolve(0);
    settle().await;
    assert_eq!(
        text(&host, "p"),
        "2",
        "the older answer must not replace the newer one"
    );
    query(&host, "button").click();
    settle().await;
    assert_eq!(pending.borrow().len(), 3, "Reload fetches again");
    assert_eq!(
        text(&host, "p"),
        "2",
        "the last answer stays on show while reloading"
    );
}

#[wasm_bindgen_test]
async fn a_loader_that_starts_with_a_known_answer_shows_it_at_once_and_fetches_only_when_asked() {
    use std::cell::Cell;
    use std::rc::Rc;
    use unishop::loader::Loader;

    let fetches = Rc::new(Cell::new(0u32));
    let wanted = RwSignal::new(1u32);
    let host = mount({
        let fetches = fetches.clone();
        move || {
            let answer = Loader::starting_with(Some(0), move || {
                let n = wanted.get();
                fetches.set(fetches.get() + 1);
                async move { n }
            });
            view! {
                <p>{move || answer.get().map_or("loading".to_owned(), |n| n.to_string())}</p>
                <button on:click=move |_| answer.reload()>"Reload"</button>
            }
        }
    });
    assert_eq!(
        text(&host, "p"),
        "0",
        "the known answer is in the first render"
    );
    settle().await;
    assert_eq!(text(&host, "p"), "0", "no fetch replaced it");
    wanted.set(2);
    settle().await;
    assert_eq!(
        text(&host, "p"),
        "2",
        "what the skipped first fetch read is still tracked"
    );
    query(&host, "button").click();
    settle().await;
    assert_eq!(
        fetches.get(),
        3,
        "the skipped first fetch, the change, the reload"
    );
}

#[wasm_bindgen_test]
async fn a_refreshing_loader_shows_the_known_answer_fetches_anyway_and_keeps_the_markup_for_the_same_answer(
) {
    use std::cell::Cell;
    use std::rc::Rc;
    use unishop::loader::Loader;

    let fetches = Rc::new(Cell::new(0u32));
    let answer_of_fetch = RwSignal::new(1u32);
    let host = mount({
        let fetches = fetches.clone();
        move || {
            let answer = Loader::refreshing(1, move || {
                fetches.set(fetches.get() + 1);
                let n = answer_of_fetch.get_untracked();
                async move { n }
            });
            view! {
                {move || answer.get().map(|n| view! { <p>{n.to_string()}</p> })}
                <button on:click=move |_| answer.reload()>"Reload"</button>
            }
        }
    });
    let first = query(&host, "p");
    assert_eq!(
        first.text_content().as_deref(),
        Some("1"),
        "known from the first render"
    );
    settle().await;
    assert_eq!(fetches.get(), 1, "the first fetch is sent all the same");
    assert!(
        query(&host, "p").is_same_node(Some(&first)),
        "an answer equal to the known one rebuilds nothing"
    );
    answer_of_fetch.set(2);
    query(&host, "button").click();
    settle().await;
    assert_eq!(text(&host, "p"), "2", "a different answer replaces it");
}
