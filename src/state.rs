//! The shop's state shared through context: who is logged in, the cart the header counts, the
//! checkout in progress, and the message the live region announces. Everything a reload must keep
//! is persisted in one effect.

use leptos::prelude::*;
use unishop_model::{CartLine, MAX_QUANTITY};
use uuid::Uuid;

use crate::api::{Api, ApiError};
use crate::checkout::CheckoutDraft;
use crate::guest_cart::{self, GuestCart};
use crate::session::StoredSession;

const SESSION_KEY: &str = "unishop.session";
const GUEST_CART_KEY: &str = "unishop.guest-cart";
const CHECKOUT_KEY: &str = "unishop.checkout";

#[derive(Clone, Copy)]
pub struct Shop {
    pub session: RwSignal<Option<StoredSession>>,
    /// The cart being shown: the guest cart, or the server cart once logged in.
    pub lines: RwSignal<Vec<CartLine>>,
    /// Set while the server cart is being read, so no page shows it as empty meanwhile.
    pub cart_loading: RwSignal<bool>,
    pub checkout: RwSignal<CheckoutDraft>,
    /// Read out by the live region (`aria-live="polite"`).
    pub announcement: RwSignal<String>,
    /// Set when the API ended the session (401); the login page says so.
    pub session_expired: RwSignal<bool>,
    /// The order placed in this visit, whose page is headed as a confirmation.
    pub placed_order: RwSignal<Option<Uuid>>,
    /// The number of the latest server-cart request. Every request and every change of session
    /// takes a new one, and only the answer to the latest is shown: an older answer, or one for
    /// a session that has ended, never reaches the screen or the stored guest cart.
    cart_request: StoredValue<u64>,
}

impl Shop {
    /// Restores what the browser kept and starts persisting changes.
    pub fn restore(api: Api) -> Self {
        let session = read(local_storage(), SESSION_KEY)
            .and_then(|json| StoredSession::from_json(&json, now_seconds()));
        let guest = read(local_storage(), GUEST_CART_KEY)
            .map(|json| GuestCart::from_json(&json))
            .unwrap_or_default();
        let checkout = read(session_storage(), CHECKOUT_KEY)
            .map(|json| CheckoutDraft::from_json(&json))
            .unwrap_or_default();
        let shop = Shop {
            lines: RwSignal::new(if session.is_some() {
                Vec::new()
            } else {
                guest.lines
            }),
            cart_loading: RwSignal::new(session.is_some()),
            session: RwSignal::new(session),
            checkout: RwSignal::new(checkout),
            announcement: RwSignal::new(String::new()),
            session_expired: RwSignal::new(false),
            placed_order: RwSignal::new(None),
            cart_request: StoredValue::new(0),
        };
        Effect::new(move |_| {
            let session = shop.session.get();
            let lines = shop.lines.get();
            let checkout = shop.checkout.get();
            match &session {
                Some(session) => write(local_storage(), SESSION_KEY, Some(session.to_json())),
                None => {
                    write(local_storage(), SESSION_KEY, None);
                    write(
                        local_storage(),
                        GUEST_CART_KEY,
                        Some(GuestCart { lines }.to_json()),
                    );
                }
            }
            write(session_storage(), CHECKOUT_KEY, Some(checkout.to_json()));
        });
        if shop.session.get_untracked().is_some() {
            shop.refresh_cart(api);
        }
        shop
    }

    pub fn count(&self) -> u32 {
        guest_cart::count(&self.lines.get())
    }

    /// Numbers a new server-cart request (or change of session); see `cart_request`.
    fn next_cart_request(self) -> u64 {
        let number = self.cart_request.get_value() + 1;
        self.cart_request.set_value(number);
        number
    }

    /// Shows the server's answer to cart request `number` if it is still the latest one.
    fn show_cart(self, number: u64, lines: Vec<CartLine>) -> bool {
        if self.cart_request.get_value() != number {
            return false;
        }
        self.lines.set(lines);
        self.loaded();
        true
    }

    /// Marks the server cart as read. Only a real change notifies: the cart page rebuilds its rows
    /// on it, which would lose what the shopper is typing in another row.
    fn loaded(self) {
        if self.cart_loading.get_untracked() {
            self.cart_loading.set(false);
        }
    }

    /// Whether `session` is still the one logged in.
    fn is_current(self, session: &StoredSession) -> bool {
        self.session
            .with_untracked(|current| current.as_ref() == Some(session))
    }

    /// Reads the server cart again.
    pub fn refresh_cart(self, api: Api) {
        let Some(session) = self.session.get_untracked() else {
            return;
        };
        let number = self.next_cart_request();
        self.cart_loading.set(true);
        leptos::task::spawn_local(async move {
            match api.cart(&session).await {
                Ok(lines) => {
                    self.show_cart(number, lines);
                }
                Err(error) => {
                    if self.cart_request.get_value() == number {
                        self.loaded();
                        self.report(&error);
                    }
                }
            }
        });
    }

    /// Adds to the cart (the guest cart, or the server cart when logged in). A line holds at
    /// most 99 either way: more is held at 99, and the shopper is told.
    pub async fn add(
        self,
        api: &Api,
        product: Uuid,
        quantity: u32,
        name: &str,
    ) -> Result<(), ApiError> {
        let capped = match self.session.get_untracked() {
            None => {
                let mut cart = GuestCart {
                    lines: self.lines.get_untracked(),
                };
                let capped = cart.add(product, quantity).map_err(too_many)?;
                self.lines.set(cart.lines);
                capped
            }
            Some(session) => {
                let number = self.next_cart_request();
                // One key per click: a retry of this add on the standby is applied once.
                let key = new_idempotency_key();
                let (lines, capped) = api.add(&session, product, quantity, &key).await?;
                if !self.is_current(&session) {
                    return Ok(());
                }
                self.show_cart(number, lines);
                capped
            }
        };
        let mut message = format!("Added {name} to your cart.");
        if capped {
            message.push_str(&format!(
                " A line holds at most {MAX_QUANTITY}, so it has {MAX_QUANTITY} now."
            ));
        }
        self.announce(message);
        Ok(())
    }

    pub async fn set_quantity(
        self,
        api: &Api,
        product: Uuid,
        quantity: u32,
    ) -> Result<(), ApiError> {
        match self.session.get_untracked() {
            None => {
                let mut cart = GuestCart {
                    lines: self.lines.get_untracked(),
                };
                cart.set(product, quantity).map_err(too_many)?;
                self.lines.set(cart.lines);
            }
            Some(session) => {
                let number = self.next_cart_request();
                let lines = api.set_quantity(&session, product, quantity).await?;
                if !self.is_current(&session) {
                    return Ok(());
                }
                self.show_cart(number, lines);
            }
        }
        self.announce("Cart updated.".to_owned());
        Ok(())
    }

    pub async fn remove(self, api: &Api, product: Uuid, name: &str) -> Result<(), ApiError> {
        match self.session.get_untracked() {
            None => {
                let mut cart = GuestCart {
                    lines: self.lines.get_untracked(),
                };
                cart.remove(product);
                self.lines.set(cart.lines);
            }
            Some(session) => {
                let number = self.next_cart_request();
                let lines = api.remove(&session, product).await?;
                if !self.is_current(&session) {
                    return Ok(());
                }
                self.show_cart(number, lines);
            }
        }
        self.announce(format!("Removed {name} from your cart."));
        Ok(())
    }

    /// Makes `session` current and folds the guest cart into the server cart.
    pub async fn log_in(self, api: &Api, session: StoredSession) -> Result<(), ApiError> {
        let number = self.next_cart_request();
        let guest = self.lines.get_untracked();
        let (lines, unknown) = if guest.is_empty() {
            (api.cart(&session).await?, Vec::new())
        } else {
            api.merge(&session, &guest).await?
        };
        // Only now is the guest cart safely on the server.
        write(local_storage(), GUEST_CART_KEY, None);
        let name = session.display_name();
        self.session.set(Some(session));
        self.session_expired.set(false);
        self.show_cart(number, lines);
        let mut message = format!("Logged in. Welcome, {name}.");
        if !unknown.is_empty() {
            message.push_str(&format!(
                " {} item(s) from your cart are no longer sold and were left out.",
                unknown.len()
            ));
        }
        self.announce(message);
        Ok(())
    }

    /// Forgets the session here; the server cart stays as it is for the next login.
    pub fn log_out(self) {
        self.forget_session();
        self.checkout.set(CheckoutDraft::default());
        self.announce("Logged out.".to_owned());
    }

    /// Ends the session whose token the API refused (401), if it is still the current one;
    /// the server cart and the checkout draft stay for the next login. Returns whether it ended.
    pub fn end_session(self, refused_token: &str) -> bool {
        let current = self.session.with_untracked(|session| {
            session.as_ref().and_then(|s| s.token.as_deref()) == Some(refused_token)
        });
        if current {
            self.forget_session();
            self.session_expired.set(true);
            self.announce(
                "Your session has ended. Log in again to carry on; your cart is kept.".to_owned(),
            );
        }
        current
    }

    fn forget_session(self) {
        // Answers still on their way belong to the old session: a new number drops them.
        self.next_cart_request();
        self.session.set(None);
        self.lines.set(Vec::new());
        self.loaded();
    }

    pub fn announce(self, message: String) {
        // Clearing first makes a repeated message be read again.
        self.announcement.set(String::new());
        request_animation_frame(move || self.announcement.set(message));
    }

    /// Announces a failure; a 401 ends the session instead, which says so itself.
    fn report(self, error: &ApiError) {
        if !matches!(error, ApiError::Aborted) && error.status() != Some(401) {
            self.announce(error.to_string());
        }
    }
}

fn too_many(error: unishop_model::TooManyLines) -> ApiError {
    ApiError::Rejected {
        status: 422,
        detail: format!("Your cart is full: {error}."),
        fields: Vec::new(),
    }
}

/// A fresh idempotency key: `crypto.randomUUID()`, or, where that is missing (older Safari, a
/// site on plain http), a version 4 UUID from `crypto.getRandomValues()`, or from `Math.random()`
/// as a last resort; nothing here throws.
pub fn new_idempotency_key() -> String {
    let crypto = crate::browser::window().and_then(|w| w.crypto().ok());
    if let Some(crypto) = &crypto {
        let has_random_uuid = js_sys::Reflect::has(crypto, &"randomUUID".into()).unwrap_or(false);
        if has_random_uuid {
            return crypto.random_uuid();
        }
    }
    let mut bytes = [0u8; 16];
    let filled = crypto.is_some_and(|c| c.get_random_values_with_u8_array(&mut bytes).is_ok());
    if !filled {
        for byte in &mut bytes {
            *byte = (js_sys::Math::random() * 256.0) as u8;
        }
    }
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

pub fn now_seconds() -> i64 {
    (js_sys::Date::now() / 1000.0) as i64
}

fn local_storage() -> Option<web_sys::Storage> {
    crate::browser::window()?.local_storage().ok()?
}

fn session_storage() -> Option<web_sys::Storage> {
    crate::browser::window()?.session_storage().ok()?
}

fn read(storage: Option<web_sys::Storage>, key: &str) -> Option<String> {
    storage?.get_item(key).ok()?
}

/// Stores or (with `None`) removes a value; a full or blocked storage only costs persistence.
fn write(storage: Option<web_sys::Storage>, key: &str, value: Option<String>) {
    if let Some(storage) = storage {
        let _ = match value {
            Some(value) => storage.set_item(key, &value),
            None => storage.remove_item(key),
        };
    }
}
