//! Who is calling: passwords, web sessions, throttling of failed sign-ins,
//! and the principal resolved once per request.

pub mod password;
pub mod service;
pub mod session_store;
pub mod throttle;

use crate::model::{CurrentUser, Role};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::IpAddr;

/// A password (or any other secret) in memory. `Debug` never prints it.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// Whoever a request acts for, as far as role checks go: a signed-in user
/// ([`Principal`]) or the credential behind a bearer token
/// ([`crate::backend::tokens::TokenPrincipal`], with the roles the token
/// carries). Services that both surfaces call check it themselves.
pub trait Caller {
    fn holds(&self, role: Role) -> bool;

    /// Refuses unless the caller holds `role`.
    fn require_role(&self, role: Role) -> super::Result<()> {
        if self.holds(role) {
            Ok(())
        } else {
            Err(super::Error::MissingRole(role))
        }
    }
}

impl Caller for Principal {
    fn holds(&self, role: Role) -> bool {
        self.has(role)
    }
}

impl Caller for crate::backend::tokens::TokenPrincipal {
    fn holds(&self, role: Role) -> bool {
        self.has(role)
    }
}

/// The signed-in user of a web request, resolved once by the server's
/// middleware from the session and the database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub user_id: String,
    pub username: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    /// Where the request came from (none for the operator's CLI); for the
    /// audit log.
    pub ip: Option<IpAddr>,
}

impl Principal {
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Refuses unless the user holds `role`.
    pub fn require(&self, role: Role) -> super::Result<()> {
        if self.has(role) {
            Ok(())
        } else {
            Err(super::Error::MissingRole(role))
        }
    }

    pub fn to_current_user(&self) -> CurrentUser {
        CurrentUser {
            id: self.user_id.clone(),
            username: self.username.clone(),
            display_name: self.display_name.clone(),
            roles: self.roles.clone(),
        }
    }
}

/// Request extension holding the principal (or none).
#[derive(Clone, Debug, Default)]
pub struct CurrentPrincipal(pub Option<Principal>);

/// Request extension: the caller's address, after trusted-proxy handling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

/// What a signed-in session stores, under [`SESSION_AUTH_KEY`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionAuth {
    pub user_id: String,
    pub authenticated_at: i64,
    pub last_seen_at: i64,
}

pub const SESSION_AUTH_KEY: &str = "auth";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_never_shows_in_debug_output() {
        let s = Secret::new("hunter2-correct-horse");
        assert!(!format!("{s:?}").contains("hunter2"));
        assert_eq!(s.expose(), "hunter2-correct-horse");
    }
}
