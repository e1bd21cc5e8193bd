//! Whether the page shows the shopper's own state yet.
//!
//! A prerendered page's HTML is the same for every shopper: no session, an empty cart, no region
//! named yet. Hydration must find exactly that markup, so while it runs the pieces that depend on
//! the browser (the header's account links, cart count and region) show what the HTML shows. Right
//! after hydration the page settles and they show the shopper's own. A page mounted from the shell
//! is settled from the start.

use leptos::prelude::*;

/// Shared through context; see the module's documentation.
#[derive(Clone, Copy)]
pub struct Settled(RwSignal<bool>);

impl Settled {
    /// Settled at once, or (`for_hydration`) after the first render, which is the one hydrated.
    /// Effects run after hydration, and never while rendering on the host.
    pub fn new(for_hydration: bool) -> Self {
        let settled = Settled(RwSignal::new(!for_hydration));
        if for_hydration {
            Effect::new(move |_| settled.0.set(true));
        }
        settled
    }

    /// Whether the shopper's own state may be shown. Tracked.
    pub fn get(&self) -> bool {
        self.0.get()
    }
}

/// The app's [`Settled`].
pub fn use_settled() -> Settled {
    expect_context::<Settled>()
}
