//! appcred's Leptos application: the UI, the wire types and the server
//! functions. Everything that touches the database, secrets or the network
//! lives under [`backend`], compiled only with the `ssr` feature, so none of
//! it can reach the wasm bundle.
#![recursion_limit = "512"]

pub mod api;
pub mod error;
pub mod model;
pub mod ui;

#[cfg(feature = "ssr")]
pub mod backend;

pub use ui::{shell, App};

/// The prefix of every server function. It is deliberately distinct from the
/// bearer-protected `/api/v1` surface so the cookie and the token worlds
/// never share a path: a token can never reach a cookie-authenticated endpoint.
pub const SERVER_FN_PREFIX: &str = "/admin/fn";

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(App);
    // A marker for the browser tests: the page is live from here on.
    if let Some(body) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.body()) {
        let _ = body.set_attribute("data-hydrated", "true");
    }
}
