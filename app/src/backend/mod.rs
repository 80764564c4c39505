//! Server-only domain logic. Services own transactions and authorization;
//! repositories own SQL. Leptos server functions, the axum handlers and the
//! CLI all call into here, so every rule is enforced in exactly one place.

pub mod audit;
pub mod auth;
pub mod caller;
pub mod clock;
pub mod credentials;
pub mod db;
pub mod error;
pub mod keys;
pub mod password;
pub mod protected_apis;
pub mod refusals;
pub mod secrets;
pub mod settings;
pub mod throttle;
pub mod tokens;
pub mod usage;
pub mod users;

use std::sync::Arc;

pub use clock::{Clock, SystemClock};
pub use db::Db;
pub use error::{Error, Result};

use password::PasswordHasher;

/// Everything a request handler needs. Cloned by every extractor and
/// middleware, so it is one `Arc`: a clone is a reference-count bump.
#[derive(Clone)]
pub struct AppState(Arc<State>);

impl AppState {
    pub fn new(state: State) -> Self {
        AppState(Arc::new(state))
    }
}

impl std::ops::Deref for AppState {
    type Target = State;

    fn deref(&self) -> &State {
        &self.0
    }
}

/// The contents of [`AppState`].
pub struct State {
    pub db: Db,
    pub clock: Arc<dyn Clock>,
    pub passwords: PasswordHasher,
    pub leptos_options: leptos::config::LeptosOptions,
    pub security: Arc<SecurityConfig>,
    /// Key for the digests of client secrets and tokens.
    pub secret_key: Arc<secrets::SecretKey>,
    /// Failed client authentications at the token endpoints: an in-memory
    /// front over the database's counts (`auth/throttle/`).
    pub oauth_failures: Arc<throttle::FrontedThrottle>,
    /// Refused token requests, counted per minute and flushed in batches.
    pub refusals: Arc<refusals::RefusalLog>,
    /// API calls per credential, counted in memory and flushed in batches.
    pub usage: Arc<usage::UsageRecorder>,
    /// Token and client state for the hot paths, valid for one cache epoch.
    pub token_cache: Arc<tokens::cache::TokenCache>,
    /// Group commit of issued tokens.
    pub token_writer: tokens::writer::TokenWriter,
}

impl axum::extract::FromRef<AppState> for leptos::config::LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// The parts of the start-up configuration the domain needs.
#[derive(Clone, Debug)]
pub struct SecurityConfig {
    /// Cookies carry `Secure` and the `__Host-` prefix (public URL is https).
    pub secure_cookies: bool,
    /// Peers whose `X-Forwarded-For` is believed (RFC 9700 §4.13).
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// The OAuth issuer: the public URL, without a trailing slash.
    pub issuer: String,
}

impl SecurityConfig {
    pub fn session_cookie_name(&self) -> &'static str {
        if self.secure_cookies {
            "__Host-appcred_session"
        } else {
            "appcred_session"
        }
    }
}
