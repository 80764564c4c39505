//! Application credentials: as lists and forms show them, the secret shown
//! once, and their tracked API use.

use super::{Page, Role, SECS_PER_DAY};
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

    /// Where the (live) credential stands at `now`.
    pub fn status(&self, now: i64) -> CredentialStatus {
        CredentialStatus::of(now, self.expires_at, None, &self.roles)
    }

    /// What a token request would get right now, and why anything is
    /// missing: the credential's effective rights at a glance.
    pub fn effective_rights(&self, now: i64, api_enabled: bool) -> EffectiveRights {
        let missing: Vec<(Role, i64)> = self.roles.iter().filter_map(|r| r.revoked_at.map(|at| (r.role, at))).collect();
        let roles = self.effective_roles();
        let blocked = if !api_enabled {
            Some("API access is switched off in General Settings.")
        } else if self.status(now) == CredentialStatus::Expired {
            Some("The credential has expired.")
        } else if roles.is_empty() {
            Some("You no longer hold any of its roles.")
        } else {
            None
        };
        EffectiveRights {
            roles: if blocked.is_some() { Vec::new() } else { roles },
            blocked: blocked.map(str::to_string),
            missing,
        }
    }
}

/// Credentials expiring within this many days are marked "Expires soon".
pub const EXPIRES_SOON_DAYS: i64 = 14;

/// Where a credential stands: the first of these that holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CredentialStatus {
    Deleted,
    /// Its expiry has passed: it gets no token.
    Expired,
    /// It expires within [`EXPIRES_SOON_DAYS`].
    ExpiresSoon,
    /// Its owner holds none of its roles: it gets no token.
    NoUsableRole,
    Active,
}

impl CredentialStatus {
    /// The status at `now` of a credential that expires at `expires_at`,
    /// was deleted at `deleted_at` (if it was) and has `roles`.
    pub fn of(now: i64, expires_at: i64, deleted_at: Option<i64>, roles: &[CredentialRole]) -> Self {
        if deleted_at.is_some() {
            CredentialStatus::Deleted
        } else if expires_at <= now {
            CredentialStatus::Expired
        } else if expires_at - now <= EXPIRES_SOON_DAYS * SECS_PER_DAY {
            CredentialStatus::ExpiresSoon
        } else if listed_token_roles(roles).is_empty() {
            CredentialStatus::NoUsableRole
        } else {
            CredentialStatus::Active
        }
    }

    /// Deleted, expired or active: the status without its warnings.
    pub fn lifecycle(self) -> Self {
        match self {
            CredentialStatus::ExpiresSoon | CredentialStatus::NoUsableRole => CredentialStatus::Active,
            other => other,
        }
    }

    /// Its name in exports.
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialStatus::Deleted => "deleted",
            CredentialStatus::Expired => "expired",
            CredentialStatus::ExpiresSoon => "expires_soon",
            CredentialStatus::NoUsableRole => "no_usable_role",
            CredentialStatus::Active => "active",
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
    fn a_credentials_status_is_the_first_that_holds_of_deleted_expired_expiring_soon_unusable_active() {
        use CredentialStatus::*;
        const NOW: i64 = 1_795_000_000;
        const SOON: i64 = EXPIRES_SOON_DAYS * SECS_PER_DAY;
        let held = [CredentialRole { role: Role::WorkCreator, revoked_at: None }];
        let lost = [CredentialRole { role: Role::WorkCreator, revoked_at: Some(NOW - 1) }];
        let far = NOW + SOON + 1;
        let status =
            |expires_at, deleted_at, roles: &[CredentialRole]| CredentialStatus::of(NOW, expires_at, deleted_at, roles);
        assert_eq!(status(far, Some(NOW), &held), Deleted);
        assert_eq!(status(NOW - 1, Some(NOW), &lost), Deleted, "deleted before anything else");
        assert_eq!(status(NOW, None, &held), Expired, "at its expiry");
        assert_eq!(status(NOW - 1, None, &lost), Expired, "expired before unusable");
        assert_eq!(status(NOW + 1, None, &held), ExpiresSoon);
        assert_eq!(status(NOW + SOON, None, &held), ExpiresSoon, "the last second of the warning");
        assert_eq!(status(NOW + 1, None, &lost), ExpiresSoon, "expiring soon before unusable");
        assert_eq!(status(far, None, &lost), NoUsableRole);
        assert_eq!(status(far, None, &[]), NoUsableRole, "no role at all");
        assert_eq!(status(far, None, &held), Active);
    }

    #[test]
    fn the_lifecycle_of_a_status_leaves_out_the_warnings() {
        use CredentialStatus::*;
        let all = [Deleted, Expired, ExpiresSoon, NoUsableRole, Active];
        assert_eq!(all.map(CredentialStatus::lifecycle), [Deleted, Expired, Active, Active, Active]);
        assert_eq!(
            all.map(CredentialStatus::as_str),
            ["deleted", "expired", "expires_soon", "no_usable_role", "active"]
        );
    }

    #[test]
    fn a_listed_credential_is_never_deleted() {
        let c = CredentialSummary {
            id: "id".into(),
            name: "n".into(),
            roles: vec![CredentialRole { role: Role::Auditor, revoked_at: None }],
            expires_at: 100 + 30 * SECS_PER_DAY,
            created_at: 0,
            last_used_at: None,
            secret_rotated_at: 0,
        };
        assert_eq!(c.status(100), CredentialStatus::Active);
        assert_eq!(c.status(100 + 20 * SECS_PER_DAY), CredentialStatus::ExpiresSoon);
    }

    #[test]
    fn the_rights_note_says_why_a_credential_gets_no_token_or_which_roles_it_misses() {
        let c = |expires_at, roles: Vec<CredentialRole>| CredentialSummary {
            id: "id".into(),
            name: "n".into(),
            roles,
            expires_at,
            created_at: 0,
            last_used_at: None,
            secret_rotated_at: 0,
        };
        let role = |role, revoked_at| CredentialRole { role, revoked_at };
        let mixed = || vec![role(Role::WorkCreator, None), role(Role::TeamLeader, Some(7))];
        let rights = c(1000, mixed()).effective_rights(100, true);
        assert_eq!(rights.roles, vec![Role::WorkCreator]);
        assert_eq!(rights.blocked, None);
        assert_eq!(rights.missing, vec![(Role::TeamLeader, 7)]);
        let blocked = |c: CredentialSummary, api_enabled| c.effective_rights(100, api_enabled).blocked.unwrap();
        assert!(blocked(c(1000, mixed()), false).starts_with("API access is switched off"));
        assert!(blocked(c(100, mixed()), false).starts_with("API access"), "the switch first");
        assert_eq!(blocked(c(100, mixed()), true), "The credential has expired.");
        let lost = || vec![role(Role::TeamLeader, Some(7))];
        assert_eq!(blocked(c(100, lost()), true), "The credential has expired.", "expiry before roles");
        assert_eq!(blocked(c(1000, lost()), true), "You no longer hold any of its roles.");
        assert!(c(100, mixed()).effective_rights(100, true).roles.is_empty(), "blocked: no roles");
    }

    #[test]
    fn a_created_secret_is_redacted_in_debug_output() {
        let s = CreatedSecret { client_id: "id".into(), name: "n".into(), secret: "acs_topsecret".into() };
        assert!(!format!("{s:?}").contains("topsecret"));
    }
}
