//! Signing in and web sessions: the sign-in service, the session store,
//! and what a session holds. Who is calling, once resolved, is a
//! [`crate::backend::caller::Caller`].

pub mod service;
pub mod session_store;

use serde::{Deserialize, Serialize};

/// What a signed-in session stores, under [`SESSION_AUTH_KEY`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionAuth {
    pub user_id: String,
    pub authenticated_at: i64,
    pub last_seen_at: i64,
}

pub const SESSION_AUTH_KEY: &str = "auth";
