//! General Settings as the Administrator's form shows them.

use serde::{Deserialize, Serialize};

/// General Settings as the form shows them, in the units it uses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsView {
    pub token_idle_minutes: i64,
    pub token_lifetime_secs: i64,
    pub max_credential_days: i64,
    pub api_enabled: bool,
    pub session_idle_minutes: i64,
    pub session_absolute_hours: i64,
    pub role_change_rule: RoleChangeRule,
    pub updated_at: i64,
}

/// What a change to a user's roles ends (General Settings, "When a user's
/// roles change").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum RoleChangeRule {
    /// Every token of the user, on a grant or a removal (the default).
    #[default]
    AllTokens,
    /// Only the tokens that carry a removed role; a grant ends none.
    TokensWithRemovedRole,
}

impl RoleChangeRule {
    pub const ALL: [RoleChangeRule; 2] = [RoleChangeRule::AllTokens, RoleChangeRule::TokensWithRemovedRole];

    /// The stored value, also the form's.
    pub fn as_str(self) -> &'static str {
        match self {
            RoleChangeRule::AllTokens => "all_tokens",
            RoleChangeRule::TokensWithRemovedRole => "tokens_with_removed_role",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        RoleChangeRule::ALL.into_iter().find(|r| r.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            RoleChangeRule::AllTokens => "End every token of that user (on a grant or a removal)",
            RoleChangeRule::TokensWithRemovedRole => "End only the tokens that carry a removed role",
        }
    }

    /// What granting (`granting = true`) or removing a role will do, said
    /// before the change is confirmed.
    pub fn consequence(self, granting: bool) -> &'static str {
        match (self, granting) {
            (RoleChangeRule::AllTokens, _) => {
                "Every access token of this user's credentials ends now; their integrations must request new ones."
            }
            (RoleChangeRule::TokensWithRemovedRole, true) => "No access token ends; new tokens may carry the role.",
            (RoleChangeRule::TokensWithRemovedRole, false) => {
                "The access tokens that carry this role end now; other tokens keep working."
            }
        }
    }
}

/// Bounds of each General Setting, in the units the form uses.
pub mod settings_bounds {
    pub const TOKEN_IDLE_MINUTES: (i64, i64) = (1, 1440);
    pub const TOKEN_LIFETIME_SECS: (i64, i64) = (60, 86_400);
    pub const MAX_CREDENTIAL_DAYS: (i64, i64) = (1, 3650);
    pub const SESSION_IDLE_MINUTES: (i64, i64) = (1, 1440);
    pub const SESSION_ABSOLUTE_HOURS: (i64, i64) = (1, 720);
}
