//! For Auditors: the audit log and every credential.

use super::{CredentialRole, CredentialStatus};
use serde::{Deserialize, Serialize};

/// Filters of the audit page, as they travel in the URL.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditFilter {
    /// First day (YYYY-MM-DD, UTC), inclusive.
    pub from: Option<String>,
    /// Last day (YYYY-MM-DD, UTC), inclusive.
    pub to: Option<String>,
    /// A username or a credential's client ID.
    pub actor: Option<String>,
    /// A credential's client ID, as actor or target.
    pub credential: Option<String>,
    /// An event type, e.g. `credential.created`.
    pub event: Option<String>,
    /// `success` or `failure`.
    pub outcome: Option<String>,
}

/// One audit event as the audit page shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: i64,
    pub event: String,
    pub outcome: String,
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub actor_name: Option<String>,
    pub ip: Option<String>,
    pub target_kind: Option<String>,
    pub target_id: Option<String>,
    pub target_name: Option<String>,
    /// JSON object.
    pub details: String,
}

/// Every event type the application writes to the audit log: one list, for
/// the services that write them and for the Audit page's filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AuditEvent {
    SessionSignIn,
    SessionSignOut,
    CredentialCreated,
    CredentialUpdated,
    CredentialSecretRegenerated,
    CredentialDeleted,
    TokenIssued,
    TokenRefused,
    TokenRevoked,
    UserCreated,
    UserRoleGranted,
    UserRoleRevoked,
    UserDeactivated,
    UserReactivated,
    UserPasswordReset,
    SettingsChanged,
    ProtectedApiCreated,
    ProtectedApiUpdated,
    ProtectedApiSecretRegenerated,
    ProtectedApiDeleted,
}

impl AuditEvent {
    pub const ALL: [AuditEvent; 20] = [
        AuditEvent::SessionSignIn,
        AuditEvent::SessionSignOut,
        AuditEvent::CredentialCreated,
        AuditEvent::CredentialUpdated,
        AuditEvent::CredentialSecretRegenerated,
        AuditEvent::CredentialDeleted,
        AuditEvent::TokenIssued,
        AuditEvent::TokenRefused,
        AuditEvent::TokenRevoked,
        AuditEvent::UserCreated,
        AuditEvent::UserRoleGranted,
        AuditEvent::UserRoleRevoked,
        AuditEvent::UserDeactivated,
        AuditEvent::UserReactivated,
        AuditEvent::UserPasswordReset,
        AuditEvent::SettingsChanged,
        AuditEvent::ProtectedApiCreated,
        AuditEvent::ProtectedApiUpdated,
        AuditEvent::ProtectedApiSecretRegenerated,
        AuditEvent::ProtectedApiDeleted,
    ];

    /// The name stored in `audit_events.event`.
    pub const fn as_str(self) -> &'static str {
        match self {
            AuditEvent::SessionSignIn => "session.sign_in",
            AuditEvent::SessionSignOut => "session.sign_out",
            AuditEvent::CredentialCreated => "credential.created",
            AuditEvent::CredentialUpdated => "credential.updated",
            AuditEvent::CredentialSecretRegenerated => "credential.secret_regenerated",
            AuditEvent::CredentialDeleted => "credential.deleted",
            AuditEvent::TokenIssued => "token.issued",
            AuditEvent::TokenRefused => "token.refused",
            AuditEvent::TokenRevoked => "token.revoked",
            AuditEvent::UserCreated => "user.created",
            AuditEvent::UserRoleGranted => "user.role_granted",
            AuditEvent::UserRoleRevoked => "user.role_revoked",
            AuditEvent::UserDeactivated => "user.deactivated",
            AuditEvent::UserReactivated => "user.reactivated",
            AuditEvent::UserPasswordReset => "user.password_reset",
            AuditEvent::SettingsChanged => "settings.changed",
            AuditEvent::ProtectedApiCreated => "protected_api.created",
            AuditEvent::ProtectedApiUpdated => "protected_api.updated",
            AuditEvent::ProtectedApiSecretRegenerated => "protected_api.secret_regenerated",
            AuditEvent::ProtectedApiDeleted => "protected_api.deleted",
        }
    }
}

/// Every event type's stored name, for the filter.
pub const AUDIT_EVENT_TYPES: [&str; 20] = {
    let mut out = [""; 20];
    let mut i = 0;
    while i < out.len() {
        out[i] = AuditEvent::ALL[i].as_str();
        i += 1;
    }
    out
};

/// Which credentials the auditor's list shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CredentialView {
    All,
    Active,
    Expired,
    Deleted,
    /// Not used for 90 days (or never), not deleted.
    Unused90,
    /// Live and expiring within 30 days.
    Expiring30,
}

impl CredentialView {
    pub const ALL: [CredentialView; 6] = [
        CredentialView::All,
        CredentialView::Active,
        CredentialView::Expired,
        CredentialView::Deleted,
        CredentialView::Unused90,
        CredentialView::Expiring30,
    ];

    pub fn param(self) -> &'static str {
        match self {
            CredentialView::All => "all",
            CredentialView::Active => "active",
            CredentialView::Expired => "expired",
            CredentialView::Deleted => "deleted",
            CredentialView::Unused90 => "unused90",
            CredentialView::Expiring30 => "expiring30",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            CredentialView::All => "All",
            CredentialView::Active => "Active",
            CredentialView::Expired => "Expired",
            CredentialView::Deleted => "Deleted",
            CredentialView::Unused90 => "Unused for 90 days",
            CredentialView::Expiring30 => "Expiring in 30 days",
        }
    }

    pub fn from_param(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.param() == s)
    }
}

/// A credential as auditors see it: never a secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditedCredential {
    pub id: String,
    pub name: String,
    pub owner_id: String,
    pub owner_username: String,
    pub roles: Vec<CredentialRole>,
    pub expires_at: i64,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub deleted_at: Option<i64>,
    pub secret_rotated_at: i64,
    /// Tokens issued and not yet revoked or past their absolute expiry.
    pub live_tokens: i64,
}

impl AuditedCredential {
    /// Auditors see a credential's lifecycle: deleted, expired or active.
    pub fn status(&self, now: i64) -> CredentialStatus {
        CredentialStatus::of(now, self.expires_at, self.deleted_at, &self.roles).lifecycle()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Role, SECS_PER_DAY};

    #[test]
    fn auditors_see_a_credential_as_deleted_expired_or_active() {
        let c = |expires_at, deleted_at, revoked_at| AuditedCredential {
            id: "id".into(),
            name: "n".into(),
            owner_id: "o".into(),
            owner_username: "u".into(),
            roles: vec![CredentialRole { role: Role::Auditor, revoked_at }],
            expires_at,
            created_at: 0,
            last_used_at: None,
            deleted_at,
            secret_rotated_at: 0,
            live_tokens: 0,
        };
        let far = 1000 + 100 * SECS_PER_DAY;
        assert_eq!(c(far, Some(500), None).status(1000), CredentialStatus::Deleted);
        assert_eq!(c(1000, None, None).status(1000), CredentialStatus::Expired);
        assert_eq!(c(1001, None, None).status(1000), CredentialStatus::Active, "expiring soon");
        assert_eq!(c(far, None, Some(0)).status(1000), CredentialStatus::Active, "no usable role");
        assert_eq!(c(far, None, None).status(1000), CredentialStatus::Active);
    }
}
