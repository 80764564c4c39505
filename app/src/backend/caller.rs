//! Who is asking, in one type for every service: a person signed in on the
//! web (or the operator acting for a user at the command line), a
//! third-party system with a bearer token, or the operator. Every service
//! authorizes with [`Caller::require`] and the shared rules of
//! `crate::model::roles`.
//!
//! A person's principal is built in one place,
//! `users::service::principal`, from the user and their live roles: the
//! session middleware, the CLI and the tests all call it. A token's is
//! built by the token service from the validated token.

use super::{Error, Result};
use crate::model::{CurrentUser, Role};
use std::net::IpAddr;

/// Who is asking.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Caller {
    /// A signed-in user, with their live roles.
    Person(Principal),
    /// A third-party system calling with a bearer token: its rights are the
    /// roles the token carries.
    Client(TokenPrincipal, Option<IpAddr>),
    /// The operator at the command line: they own the deployment and hold
    /// every right. (The last-Administrator guard holds for them too.)
    Operator,
}

impl Caller {
    /// Whether the caller holds `role` (the operator holds every role).
    pub fn holds(&self, role: Role) -> bool {
        match self {
            Caller::Person(p) => p.roles.contains(&role),
            Caller::Client(t, _) => t.roles.contains(&role),
            Caller::Operator => true,
        }
    }

    /// Refuses unless the caller holds `role`.
    pub fn require(&self, role: Role) -> Result<()> {
        if self.holds(role) {
            Ok(())
        } else {
            Err(Error::MissingRole(role))
        }
    }

    /// The roles the caller acts with (every role for the operator).
    pub fn roles(&self) -> &[Role] {
        match self {
            Caller::Person(p) => &p.roles,
            Caller::Client(t, _) => &t.roles,
            Caller::Operator => &Role::ALL,
        }
    }

    /// Whether the caller may grant or remove Administrator and manage an
    /// Administrator's account ([`crate::model::may_handle_administrator`]).
    pub fn may_handle_administrator(&self) -> bool {
        crate::model::may_handle_administrator(self.roles())
    }

    /// Whether the caller is, or acts for, this user.
    pub fn is(&self, user_id: &str) -> bool {
        match self {
            Caller::Person(p) => p.user_id == user_id,
            Caller::Client(t, _) => t.owner_id == user_id,
            Caller::Operator => false,
        }
    }

    /// The caller's id, for log lines: the user's, the credential's, or
    /// `operator`.
    pub fn id(&self) -> &str {
        match self {
            Caller::Person(p) => &p.user_id,
            Caller::Client(t, _) => &t.credential_id,
            Caller::Operator => "operator",
        }
    }

    /// Where the request came from (none for the command line).
    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            Caller::Person(p) => p.ip,
            Caller::Client(_, ip) => *ip,
            Caller::Operator => None,
        }
    }

    /// The signed-in user, for what only a person does (owning
    /// credentials); anyone else is `Unauthenticated`.
    pub fn person(&self) -> Result<&Principal> {
        match self {
            Caller::Person(p) => Ok(p),
            Caller::Client(..) | Caller::Operator => Err(Error::Unauthenticated),
        }
    }
}

/// A signed-in user: resolved once per request by the server's middleware
/// from the session and the database (`users::service::principal`).
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
    pub fn to_current_user(&self) -> CurrentUser {
        CurrentUser {
            id: self.user_id.clone(),
            username: self.username.clone(),
            display_name: self.display_name.clone(),
            roles: self.roles.clone(),
        }
    }
}

/// Who is calling the API with a valid bearer token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenPrincipal {
    pub credential_id: String,
    pub credential_name: String,
    pub owner_id: String,
    pub owner_username: String,
    pub owner_display_name: String,
    pub roles: Vec<Role>,
    pub issued_at: i64,
    pub expires_at: i64,
    /// The protected API the token is bound to (RFC 8707 §2), or none.
    pub audience: Option<String>,
}

/// Request extension holding the principal (or none).
#[derive(Clone, Debug, Default)]
pub struct CurrentPrincipal(pub Option<Principal>);

/// Request extension: the caller's address, after trusted-proxy handling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

#[cfg(test)]
mod tests {
    use super::*;

    fn person(roles: &[Role]) -> Caller {
        Caller::Person(Principal {
            user_id: "u1".into(),
            username: "alice".into(),
            display_name: "Alice".into(),
            roles: roles.to_vec(),
            ip: None,
        })
    }

    #[test]
    fn require_refuses_naming_the_missing_role() {
        assert!(person(&[Role::Auditor]).require(Role::Auditor).is_ok());
        assert!(matches!(person(&[]).require(Role::Auditor), Err(Error::MissingRole(Role::Auditor))));
        assert!(Caller::Operator.require(Role::Administrator).is_ok());
    }

    #[test]
    fn only_a_person_owns_credentials() {
        assert!(person(&[]).person().is_ok());
        assert!(matches!(Caller::Operator.person(), Err(Error::Unauthenticated)));
    }

    #[test]
    fn administrators_and_the_operator_handle_administrators() {
        assert!(person(&[Role::Administrator]).may_handle_administrator());
        assert!(!person(&[Role::UserManager]).may_handle_administrator());
        assert!(Caller::Operator.may_handle_administrator());
    }
}
