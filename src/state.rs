//! The shop's state shared through context: who is logged in, the cart the header counts, the
//! checkout in progress, and the message the live region announces. Everything a reload must keep
//! is persisted in one effect.

use leptos::prelude::*;
use unishop_model::CartLine;
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
    /// Set while the server cart is being read, so the cart page does not flash "empty".
    pub cart_loading: RwSignal<bool>,
    pub checkout: RwSignal<CheckoutDraft>,
    /// Read out by the live region (`aria-live="polite"`).
    pub announcement: RwSignal<String>,
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

    /// Reads the server cart again.
    pub fn refresh_cart(self, api: Api) {
        let Some(session) = self.session.get_untracked() else {
            return;
        };
        self.cart_loading.set(true);
        leptos::task::spawn_local(async move {
            match api.cart(&session).await {
                Ok(lines) => self.lines.set(lines),
                Err(error) => self.report(&error),
            }
            self.cart_loading.set(false);
        });
    }

    /// Adds to the cart (the guest cart, or the server cart when logged in).
    pub async fn add(
        self,
        api: &Api,
        product: Uuid,
        quantity: u32,
        name: &str,
    ) -> Result<(), ApiError> {
        match self.session.get_untracked() {
            None => {
                let mut cart = GuestCart {
                    lines: self.lines.get_untracked(),
                };
                cart.add(product, quantity).map_err(too_many)?;
                self.lines.set(cart.lines);
            }
            Some(session) => {
                let present = self
                    .lines
                    .get_untracked()
                    .iter()
                    .find(|l| l.uuid == product)
                    .map_or(0, |l| l.quantity);
                let lines = api
                    .set_quantity(&session, product, present + quantity)
                    .await?;
                self.lines.set(lines);
            }
        }
        self.announce(format!("Added {name} to your cart."));
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
            Some(session) => self
                .lines
                .set(api.set_quantity(&session, product, quantity).await?),
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
            Some(session) => self.lines.set(api.remove(&session, product).await?),
        }
        self.announce(format!("Removed {name} from your cart."));
        Ok(())
    }

    /// Makes `session` current and folds the guest cart into the server cart.
    pub async fn log_in(self, api: &Api, session: StoredSession) -> Result<(), ApiError> {
        let guest = self.lines.get_untracked();
        let (lines, unknown) = if guest.is_empty() {
            (api.cart(&session).await?, Vec::new())
        } else {
            api.merge(&session, &guest).await?
        };
        // Only now is the guest cart safely on the server.
        write(local_storage(), GUEST_CART_KEY, None);
        self.lines.set(lines);
        self.cart_loading.set(false);
        let name = session.display_name();
        self.session.set(Some(session));
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
        self.session.set(None);
        self.lines.set(Vec::new());
        self.checkout.set(CheckoutDraft::default());
        self.announce("Logged out.".to_owned());
    }

    pub fn announce(self, message: String) {
        // Clearing first makes a repeated message be read again.
        self.announcement.set(String::new());
        request_animation_frame(move || self.announcement.set(message));
    }

    fn report(self, error: &ApiError) {
        self.announce(error.to_string());
    }
}

fn too_many(error: unishop_model::TooManyLines) -> ApiError {
    ApiError::Rejected {
        status: 422,
        detail: format!("Your cart is full: {error}."),
        fields: Vec::new(),
    }
}

/// A fresh idempotency key for one checkout attempt.
pub fn new_idempotency_key() -> String {
    web_sys::window()
        .and_then(|w| w.crypto().ok())
        .map(|c| c.random_uuid())
        .unwrap_or_else(|| format!("attempt-{}", js_sys::Date::now() as u64))
}

pub fn now_seconds() -> i64 {
    (js_sys::Date::now() / 1000.0) as i64
}

fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

fn session_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok()?
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
