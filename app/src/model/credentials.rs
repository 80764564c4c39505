//! Application credentials: as lists and forms show them, the secret shown
//! once, and their tracked API use.

use super::{Page, Role};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A role on a credential. `revoked_at` is set when the owner no longer holds
/// the role: the credential keeps it in its record, but new tokens do not
/// get it and the UI greys it out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialRole {
    pub role: Role,
    pub revoked_at: Option<i64>,
}

/// A credential as lists show it. Never carries the secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialSummary {
    /// Also the OAuth `client_id`.
    pub id: String,
    pub name: String,
    pub roles: Vec<CredentialRole>,
    pub expires_at: i64,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub secret_rotated_at: i64,
}

/// The roles a new token of a credential gets: those of the credential's
/// roles that its owner holds now, each once, in catalogue order. Each role
/// on the credential comes with whether the owner holds it. The pages ask it
/// of a credential as listed; the token service of the credential and its
/// owner as they stood at a rights generation (`tokens::rules::usable_roles`).
pub fn token_roles(credential_roles: impl IntoIterator<Item = (Role, bool)>) -> Vec<Role> {
    let mut roles: Vec<Role> = credential_roles.into_iter().filter_map(|(role, held)| held.then_some(role)).collect();
    roles.sort();
    roles.dedup();
    roles
}

/// [`token_roles`] of a credential's roles as listed: a role is held unless
/// it is marked revoked.
fn listed_token_roles(roles: &[CredentialRole]) -> Vec<Role> {
    token_roles(roles.iter().map(|r| (r.role, r.revoked_at.is_none())))
}

impl CredentialSummary {
    /// Roles new tokens would get now.
    pub fn effective_roles(&self) -> Vec<Role> {
        listed_token_roles(&self.roles)
    }

    /// What a token request would get right now, and why anything is
    /// missing: the credential's effective rights at a glance.
    pub fn effective_rights(&self, now: i64, api_enabled: bool) -> EffectiveRights {
        let missing: Vec<(Role, i64)> = self.roles.iter().filter_map(|r| r.revoked_at.map(|at| (r.role, at))).collect();
        let blocked = if !api_enabled {
            Some("API access is switched off in General Settings.")
        } else if self.expires_at <= now {
            Some("The credential has expired.")
        } else if self.effective_roles().is_empty() {
            Some("You no longer hold any of its roles.")
        } else {
            None
        };
        EffectiveRights {
            roles: if blocked.is_some() { Vec::new() } else { self.effective_roles() },
            blocked: blocked.map(str::to_string),
            missing,
        }
    }
}

/// The roles a new token would carry now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EffectiveRights {
    pub roles: Vec<Role>,
    /// Why no token can be obtained at all, if so.
    pub blocked: Option<String>,
    /// Roles on the record that new tokens will not get because the owner
    /// lost them, with when (0: not known).
    pub missing: Vec<(Role, i64)>,
}

/// One page of the signed-in user's credentials. On the wire the page's
/// fields stand beside `api_enabled`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialList {
    #[serde(flatten)]
    pub page: Page<CredentialSummary>,
    /// General Settings' API switch: when off, no credential gets tokens.
    pub api_enabled: bool,
}

/// Sort keys of the credentials list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CredentialSort {
    Name,
    Expires,
    LastUsed,
    Created,
}

impl CredentialSort {
    pub fn param(self) -> &'static str {
        match self {
            CredentialSort::Name => "name",
            CredentialSort::Expires => "expires",
            CredentialSort::LastUsed => "last_used",
            CredentialSort::Created => "created",
        }
    }

    pub fn from_param(s: &str) -> Option<Self> {
        [CredentialSort::Name, CredentialSort::Expires, CredentialSort::LastUsed, CredentialSort::Created]
            .into_iter()
            .find(|k| k.param() == s)
    }
}

/// What the create and edit forms need: the roles the user may grant and the
/// expiry limits from General Settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialFormData {
    pub grantable: Vec<Role>,
    pub today: String,
    pub default_expiry: String,
    pub max_expiry: String,
    pub max_days: i64,
}

/// The client id and the plaintext secret, sent to the browser exactly once
/// (on create and on regenerate). `Debug` never prints the secret.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedSecret {
    pub client_id: String,
    pub name: String,
    pub secret: String,
}

impl fmt::Debug for CreatedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreatedSecret")
            .field("client_id", &self.client_id)
            .field("name", &self.name)
            .field("secret", &"[redacted]")
            .finish()
    }
}

/// Calls of one endpoint on one day (UTC; `day` is the day's first second).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointDay {
    pub day: i64,
    pub endpoint: String,
    pub calls: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceAddress {
    pub ip: String,
    pub last_seen: i64,
    pub calls: i64,
}

/// A credential's tracked API use.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialUsage {
    pub days: Vec<EndpointDay>,
    pub addresses: Vec<SourceAddress>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_token_gets_the_credentials_roles_the_owner_holds_once_each_in_catalogue_order() {
        use Role::*;
        assert_eq!(
            token_roles([(WorkCreator, true), (TeamLeader, false), (Auditor, true)]),
            vec![WorkCreator, Auditor]
        );
        assert_eq!(
            token_roles([(TeamLeader, true), (WorkCreator, true), (TeamLeader, true)]),
            vec![WorkCreator, TeamLeader],
            "sorted, and a role given twice counts once"
        );
        assert!(token_roles([(WorkCreator, false), (TeamLeader, false)]).is_empty(), "none held");
        assert!(token_roles([]).is_empty(), "no role on the credential");
    }

    #[test]
    fn a_listed_credential_gives_new_tokens_its_roles_not_marked_revoked() {
        let role = |role, revoked_at| CredentialRole { role, revoked_at };
        let c = CredentialSummary {
            id: "id".into(),
            name: "n".into(),
            roles: vec![
                role(Role::ServiceAgent, Some(0)),
                role(Role::WorkCreator, None),
                role(Role::TeamLeader, Some(1_795_000_000)),
                role(Role::Auditor, None),
            ],
            expires_at: 0,
            created_at: 0,
            last_used_at: None,
            secret_rotated_at: 0,
        };
        assert_eq!(c.effective_roles(), vec![Role::WorkCreator, Role::Auditor]);
    }

    #[test]
    fn a_created_secret_is_redacted_in_debug_output() {
        let s = CreatedSecret { client_id: "id".into(), name: "n".into(), secret: "acs_topsecret".into() };
        assert!(!format!("{s:?}").contains("topsecret"));
    }
}
