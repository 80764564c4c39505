//! Knowing whether the page is live.

use leptos::prelude::*;

/// True once the wasm bundle has taken over the page; enhancements that
/// need JavaScript render only then, so the no-JS page never shows dead
/// buttons.
pub fn use_hydrated() -> ReadSignal<bool> {
    let (hydrated, set_hydrated) = signal(false);
    Effect::new(move |_| set_hydrated.set(true));
    hydrated
}
