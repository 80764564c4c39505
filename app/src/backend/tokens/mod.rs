//! The token service: client authentication, issuance (RFC 6749 §4.4),
//! validation of bearer tokens (RFC 6750), introspection (RFC 7662) and
//! revocation (RFC 7009). HTTP parsing lives in the server crate; the rules
//! live here.

pub mod cache;
pub mod repo;
pub mod service;
pub mod writer;

use crate::model::Role;
use std::fmt;

/// Why tokens died; stored in `tokens.revoked_reason`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    SecretRegenerated,
    CredentialDeleted,
    RoleRevoked,
    /// A role of the owner was granted or removed, under the rule that
    /// ends every token of the user (General Settings).
    RolesChanged,
    RoleRemovedFromCredential,
    OwnerDeactivated,
    Idle,
    Expired,
    /// The protected API the token was bound to was deleted.
    ProtectedApiDeleted,
    /// The protected API the token was bound to took another audience.
    AudienceChanged,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::SecretRegenerated => "secret_regenerated",
            Reason::CredentialDeleted => "credential_deleted",
            Reason::RoleRevoked => "role_revoked",
            Reason::RolesChanged => "roles_changed",
            Reason::RoleRemovedFromCredential => "role_removed_from_credential",
            Reason::OwnerDeactivated => "owner_deactivated",
            Reason::Idle => "idle",
            Reason::Expired => "expired",
            Reason::ProtectedApiDeleted => "protected_api_deleted",
            Reason::AudienceChanged => "audience_changed",
        }
    }
}

/// Which live tokens a change ends ([`service::end`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending<'a> {
    /// Every token of the credential.
    Credential(&'a str),
    /// The credential's tokens that carry the role.
    CredentialRole(&'a str, Role),
    /// Every token of the owner's credentials.
    Owner(&'a str),
    /// The tokens of the owner's credentials that carry the role.
    OwnerRole(&'a str, Role),
    /// Every token bound to the audience (RFC 8707 §2).
    Audience(&'a str),
}

/// A client that proved its secret, with the General Settings read while
/// authenticating it (one read per request serves the whole request).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthenticatedClient {
    pub credential_id: String,
    pub credential_name: String,
    /// Where the request came from, for the audit log.
    pub ip: std::net::IpAddr,
    pub owner_id: String,
    pub expires_at: i64,
    pub secret_version: i64,
    /// The owner's rights generation that `usable_roles` was read at; the
    /// token is stored with it (`rights_alive`).
    pub rights_gen: i64,
    /// Roles of the credential its owner still holds.
    pub usable_roles: Vec<Role>,
    pub settings: crate::backend::settings::Settings,
}

/// A protected API (resource server) that proved its secret for
/// introspection (RFC 7662 §2.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthenticatedApi {
    pub id: String,
    pub name: String,
    pub audience: String,
    /// General Settings, read while authenticating it.
    pub settings: crate::backend::settings::Settings,
}

/// Who may introspect: a client (its own tokens only) or a protected API
/// (the tokens meant for it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Introspector {
    Client(AuthenticatedClient),
    Api(AuthenticatedApi),
}

/// A freshly issued token. `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedToken {
    pub access_token: String,
    pub expires_in: i64,
    pub scope: String,
}

impl fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedToken")
            .field("access_token", &"[redacted]")
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .finish()
    }
}

/// What introspection reports about an active token (RFC 7662 §2.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Introspection {
    pub scope: String,
    pub client_id: String,
    pub exp: i64,
    pub iat: i64,
}

/// What a protected API is told about an active token meant for it
/// (RFC 7662 §2.2): the token's principal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiIntrospection {
    pub scope: String,
    pub principal: crate::backend::caller::TokenPrincipal,
}

/// The rules that decide whether a stored token still lives. They are
/// checked on every use, from the database or (for the time rules) from a
/// cache entry of the current epoch.
pub mod rules {
    /// A token bound to a resource (RFC 8707 §2) is for that audience
    /// only: it passes a check naming exactly it, and no other (a check
    /// naming none, `/api/v1`'s, included). An unbound token is valid
    /// everywhere. Forward auth and `/api/v1` apply it; introspection by a
    /// protected API applies it with the API's identity too.
    pub fn audience_admits(required: Option<&str>, bound: Option<&str>) -> bool {
        bound.is_none() || required == bound
    }

    use super::repo::RoleRow;
    use crate::model::Role;

    /// When a token dies by time: the earlier of its stored expiry and its
    /// issue time plus the absolute lifetime General Settings allow now, so
    /// shortening the lifetime ends older tokens and lengthening it extends
    /// none.
    pub fn effective_expiry(issued_at: i64, expires_at: i64, lifetime_secs: i64) -> i64 {
        expires_at.min(issued_at.saturating_add(lifetime_secs))
    }

    /// The secret the token was obtained with is still one the credential
    /// accepts (today: its current secret; a regenerate ends the old one).
    pub fn secret_still_valid(token_secret_version: i64, credential_secret_version: i64) -> bool {
        token_secret_version == credential_secret_version
    }

    /// Roles of the credential that a token issued under rights generation
    /// `gen` may still use: on the credential since then, and held by the
    /// owner, in a holding that began no later. A role removed and given
    /// back after `gen` is not the one the token was issued under.
    pub fn usable_roles<'a>(rows: impl IntoIterator<Item = &'a RoleRow>, gen: i64) -> Vec<Role> {
        // The credential's roles as of `gen`, each with whether the owner
        // held it then.
        let as_of_gen = rows
            .into_iter()
            .filter(|r| r.added_gen.is_some_and(|a| a <= gen))
            .filter_map(|r| Some((Role::from_slug(r.role.as_deref()?)?, r.granted_gen.is_some_and(|g| g <= gen))));
        crate::model::token_roles(as_of_gen)
    }

    /// Whether a token issued under `token_gen` carrying `carried` survived
    /// every change to its owner's rights since: no change since then ended
    /// all of the owner's tokens, and every role it carries is still usable
    /// at its generation.
    pub fn rights_alive(token_gen: i64, tokens_valid_gen: i64, carried: &[Role], usable: &[Role]) -> bool {
        token_gen >= tokens_valid_gen && !carried.is_empty() && carried.iter().all(|r| usable.contains(r))
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn row(role: &str, added: Option<i64>, granted: Option<i64>) -> RoleRow {
            RoleRow { role: Some(role.into()), added_gen: added, granted_gen: granted }
        }

        #[test]
        fn a_role_counts_only_in_the_holding_the_token_was_issued_under() {
            let rows = [row("work_creator", Some(1), Some(1)), row("team_leader", Some(1), Some(5))];
            assert_eq!(usable_roles(&rows, 4), vec![Role::WorkCreator], "team_leader was given back at 5");
            assert_eq!(usable_roles(&rows, 5), vec![Role::WorkCreator, Role::TeamLeader]);
            let not_held = [row("work_creator", Some(1), None)];
            assert!(usable_roles(&not_held, 9).is_empty());
            let added_later = [row("work_creator", Some(7), Some(1))];
            assert!(usable_roles(&added_later, 6).is_empty(), "added to the credential after the token");
        }

        #[test]
        fn a_change_that_ends_every_token_ends_the_older_generations_only() {
            let usable = [Role::WorkCreator];
            assert!(rights_alive(3, 3, &usable, &usable));
            assert!(!rights_alive(2, 3, &usable, &usable));
            assert!(!rights_alive(3, 0, &[Role::TeamLeader], &usable));
            assert!(!rights_alive(3, 0, &[], &usable));
        }

        #[test]
        fn the_current_lifetime_caps_a_stored_expiry_but_never_extends_it() {
            assert_eq!(effective_expiry(1000, 4600, 3600), 4600);
            assert_eq!(effective_expiry(1000, 4600, 600), 1600, "shortened");
            assert_eq!(effective_expiry(1000, 4600, 86_400), 4600, "lengthened: unchanged");
        }
    }
}

/// Parses a scope parameter (RFC 6749 §3.3): space-separated tokens of
/// `%x21 / %x23-5B / %x5D-7E`. Order does not matter; repeats collapse.
pub fn parse_scope(raw: &str) -> crate::backend::Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for token in raw.split(' ') {
        if token.is_empty() {
            continue;
        }
        if !token.bytes().all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b)) {
            return Err(crate::backend::Error::invalid("scope", "the scope has characters outside the allowed set"));
        }
        if !out.iter().any(|t| t == token) {
            out.push(token.to_string());
        }
    }
    Ok(out)
}

pub fn roles_to_scope(roles: &[Role]) -> String {
    roles.iter().map(|r| r.slug()).collect::<Vec<_>>().join(" ")
}

pub fn scope_to_roles(scope: &str) -> Vec<Role> {
    let mut roles: Vec<Role> = scope.split(' ').filter_map(Role::from_slug).collect();
    roles.sort();
    roles.dedup();
    roles
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_parsing_follows_the_rfc_grammar() {
        // R6749-24, TNEG-12
        assert_eq!(parse_scope("work_creator  team_leader work_creator").unwrap(), vec!["work_creator", "team_leader"]);
        assert_eq!(parse_scope("").unwrap(), Vec::<String>::new());
        assert!(parse_scope("bad\"scope").is_err());
        assert!(parse_scope("api:read\ninjected").is_err());
        assert!(parse_scope("emoji😀").is_err());
    }

    #[test]
    fn an_issued_token_is_redacted_in_debug_output() {
        let t = IssuedToken { access_token: "act_secretvalue".into(), expires_in: 1, scope: String::new() };
        assert!(!format!("{t:?}").contains("secretvalue"));
    }
}
