//! What a page loads from the API, as a signal: nothing until the first answer, then the latest.
//!
//! This takes the place of Leptos's `LocalResource` + `<Transition>`: the pages need only "load,
//! reload on demand or when the session changes, keep showing the last answer meanwhile", and the
//! general machinery cost about 40 KB of wasm. The reactive part below is not generic, so each
//! page's loader adds only its own future.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use leptos::prelude::*;

type Task = Pin<Box<dyn Future<Output = ()>>>;

/// A value loaded by an async fetch. Copy it into as many closures as need it.
pub struct Loader<T: 'static> {
    answer: RwSignal<Option<T>, LocalStorage>,
    reload: Trigger,
}

impl<T: 'static> Clone for Loader<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: 'static> Copy for Loader<T> {}

impl<T: Clone + 'static> Loader<T> {
    /// Starts loading now, and again whenever a signal that `fetch` itself reads changes, or
    /// [`Loader::reload`] is called. Only reads in `fetch`'s body, before it returns its future,
    /// are tracked: read signals there and move the values into the `async` block. An answer that arrives after a newer
    /// fetch has started is dropped, so a slow old answer never replaces a new one.
    pub fn new<F, Fut>(fetch: F) -> Self
    where
        F: Fn() -> Fut + 'static,
        Fut: Future<Output = T> + 'static,
    {
        Self::starting_with(None, fetch)
    }

    /// Like [`Loader::new`], but when the answer is `known` already it is shown from the first
    /// render and the first fetch is not sent (`fetch` still runs, to track what it reads).
    pub fn starting_with<F, Fut>(known: Option<T>, fetch: F) -> Self
    where
        F: Fn() -> Fut + 'static,
        Fut: Future<Output = T> + 'static,
    {
        let skip_first = known.is_some();
        Self::build(known, skip_first, |_, _| false, fetch)
    }

    /// Shows `known` from the first render, like [`Loader::starting_with`], but sends the first
    /// fetch all the same: for an answer the page's HTML was prerendered with, which the API may
    /// have changed since. An answer equal to the one on show changes nothing, so the page is not
    /// rebuilt for it (and hydrated markup is kept).
    pub fn refreshing<F, Fut>(known: T, fetch: F) -> Self
    where
        T: PartialEq,
        F: Fn() -> Fut + 'static,
        Fut: Future<Output = T> + 'static,
    {
        Self::build(
            Some(known),
            false,
            |shown, value| shown.as_ref() == Some(value),
            fetch,
        )
    }

    fn build<F, Fut>(
        known: Option<T>,
        skip_first: bool,
        unchanged: fn(&Option<T>, &T) -> bool,
        fetch: F,
    ) -> Self
    where
        F: Fn() -> Fut + 'static,
        Fut: Future<Output = T> + 'static,
    {
        let answer = RwSignal::new_local(known);
        let reload = Trigger::new();
        let start = move |latest: Rc<Cell<u64>>| -> Task {
            let pending = fetch();
            let this = latest.get();
            Box::pin(async move {
                let value = pending.await;
                // The page may be gone by now; then there is nobody to tell.
                let same = answer
                    .try_with_untracked(|shown| unchanged(shown, &value))
                    .unwrap_or(true);
                if latest.get() == this && !same {
                    let _ = answer.try_set(Some(value));
                }
            })
        };
        run(Rc::new(start), reload, skip_first);
        Loader { answer, reload }
    }

    /// The latest answer, or `None` while the first is on its way. Tracked.
    pub fn get(&self) -> Option<T> {
        self.answer.get()
    }

    /// The latest answer, untracked.
    pub fn get_untracked(&self) -> Option<T> {
        self.answer.get_untracked()
    }

    /// Fetches again; the last answer stays on show until the new one arrives.
    pub fn reload(&self) {
        self.reload.notify();
    }
}

/// The reactive part of every loader: one effect that numbers each fetch and runs it (all but the
/// first when `skip_first`).
fn run(start: Rc<dyn Fn(Rc<Cell<u64>>) -> Task>, reload: Trigger, mut skip_first: bool) {
    let latest = Rc::new(Cell::new(0));
    Effect::new(move |_| {
        reload.track();
        latest.set(latest.get() + 1);
        let task = start(latest.clone());
        if !std::mem::take(&mut skip_first) {
            leptos::task::spawn_local(task);
        }
    });
}
