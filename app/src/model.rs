//! Wire types shared by the server and the browser. Nothing here may ever
//! hold a password, a client secret or a token, except the one type built to
//! carry a freshly generated secret to the browser exactly once.

use serde::{Deserialize, Serialize};
use std::fmt;

/// How the roles are grouped on screen. Operational and Builder roles come
/// from the Enate release note; Platform roles are appcred's own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RoleGroup {
    Operational,
    Builder,
    Platform,
}

impl RoleGroup {
    pub const ALL: [RoleGroup; 3] = [RoleGroup::Operational, RoleGroup::Builder, RoleGroup::Platform];

    pub fn label(self) -> &'static str {
        match self {
            RoleGroup::Operational => "Operational roles",
            RoleGroup::Builder => "Builder roles",
            RoleGroup::Platform => "Platform roles",
        }
    }
}

/// The role catalogue. The slug is the stable identifier used in the
/// database and as the OAuth scope token (RFC 6749 §3.3: `%x21 / %x23-5B /
/// %x5D-7E`, which `[a-z_]` satisfies).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Role {
    ServiceAgent,
    SelfServiceUser,
    WorkCreator,
    WorkAssigner,
    TeamLeader,
    UserManager,
    MasterBuilder,
    ReleaseManager,
    Auditor,
    Administrator,
}

impl Role {
    pub const ALL: [Role; 10] = [
        Role::ServiceAgent,
        Role::SelfServiceUser,
        Role::WorkCreator,
        Role::WorkAssigner,
        Role::TeamLeader,
        Role::UserManager,
        Role::MasterBuilder,
        Role::ReleaseManager,
        Role::Auditor,
        Role::Administrator,
    ];

    pub fn slug(self) -> &'static str {
        match self {
            Role::ServiceAgent => "service_agent",
            Role::SelfServiceUser => "self_service_user",
            Role::WorkCreator => "work_creator",
            Role::WorkAssigner => "work_assigner",
            Role::TeamLeader => "team_leader",
            Role::UserManager => "user_manager",
            Role::MasterBuilder => "master_builder",
            Role::ReleaseManager => "release_manager",
            Role::Auditor => "auditor",
            Role::Administrator => "administrator",
        }
    }

    pub fn from_slug(slug: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.slug() == slug)
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::ServiceAgent => "Service Agent",
            Role::SelfServiceUser => "Self Service User",
            Role::WorkCreator => "Work Creator",
            Role::WorkAssigner => "Work Assigner",
            Role::TeamLeader => "Team Leader",
            Role::UserManager => "User Manager",
            Role::MasterBuilder => "Master Builder",
            Role::ReleaseManager => "Release Manager",
            Role::Auditor => "Auditor",
            Role::Administrator => "Administrator",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Role::ServiceAgent => "Able to access Work Manager: standard Team Member level access.",
            Role::SelfServiceUser => "Able to access the Self Service app.",
            Role::WorkCreator => "Access to create new Cases, Tickets and Actions in Work Manager.",
            Role::WorkAssigner => "Access to assign work items in Work Manager.",
            Role::TeamLeader => "Access to Team Leader-level data in Work Manager (e.g. bots view, Queues page).",
            Role::UserManager => "Access to the User Management section: assigns and revokes roles.",
            Role::MasterBuilder => "Access to create and edit master data shared between processes.",
            Role::ReleaseManager => "Ability to publish Case and Ticket processes.",
            Role::Auditor => "Reviews every credential and the audit log, never a secret.",
            Role::Administrator => "Changes the General Settings: timeouts, token lifetime, API on/off.",
        }
    }

    pub fn group(self) -> RoleGroup {
        match self {
            Role::ServiceAgent | Role::SelfServiceUser | Role::WorkCreator | Role::WorkAssigner | Role::TeamLeader => {
                RoleGroup::Operational
            }
            Role::UserManager | Role::MasterBuilder | Role::ReleaseManager => RoleGroup::Builder,
            Role::Auditor | Role::Administrator => RoleGroup::Platform,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// The signed-in user as the browser sees them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentUser {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub roles: Vec<Role>,
}

impl CurrentUser {
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_slug_round_trips_and_is_a_valid_scope_token() {
        for role in Role::ALL {
            assert_eq!(Role::from_slug(role.slug()), Some(role));
            // RFC 6749 §3.3 scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
            assert!(role.slug().bytes().all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b)));
        }
        assert_eq!(Role::from_slug("Service_Agent"), None, "slugs are case-sensitive");
    }

    #[test]
    fn the_catalogue_has_the_seed_roles_in_their_groups() {
        let operational: Vec<_> = Role::ALL.into_iter().filter(|r| r.group() == RoleGroup::Operational).collect();
        assert_eq!(operational.len(), 5);
        let builder: Vec<_> = Role::ALL.into_iter().filter(|r| r.group() == RoleGroup::Builder).collect();
        assert_eq!(builder, vec![Role::UserManager, Role::MasterBuilder, Role::ReleaseManager]);
    }
}

/// A password on its way from a form to the server. Serializes as a plain
/// string; `Debug` never prints it, so a logged server-function argument
/// cannot leak it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Password(pub String);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password([redacted])")
    }
}

/// Only same-site paths are followed after sign-in; anything else (another
/// host, a scheme, `//evil`, `/\evil`) falls back to the home page.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.chars().any(char::is_control)
                && !n.starts_with("/login") =>
        {
            n.to_string()
        }
        _ => "/".to_string(),
    }
}

#[cfg(test)]
mod wire_tests {
    use super::*;

    #[test]
    fn a_password_is_redacted_in_debug_output() {
        assert_eq!(format!("{:?}", Password("s3cret!".into())), "Password([redacted])");
    }

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(safe_next(Some("/users?page=2")), "/users?page=2");
        for bad in ["https://evil.example/", "//evil.example", "/\\evil.example", "javascript:alert(1)", "/login"] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad}");
        }
        assert_eq!(safe_next(None), "/");
    }
}

// ---------------------------------------------------------------------------
// Application credentials
// ---------------------------------------------------------------------------

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

impl CredentialSummary {
    /// Roles new tokens would get now.
    pub fn effective_roles(&self) -> Vec<Role> {
        self.roles.iter().filter(|r| r.revoked_at.is_none()).map(|r| r.role).collect()
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

/// One page of the signed-in user's credentials.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialPage {
    pub items: Vec<CredentialSummary>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
    /// Server time, for "in 12 days" and "3 hours ago".
    pub now: i64,
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

pub const SECS_PER_DAY: i64 = 86_400;

/// `HH:MM:SS` (UTC) of a Unix time.
pub fn format_time_of_day(unix: i64) -> String {
    let s = unix.rem_euclid(SECS_PER_DAY);
    format!("{:02}:{:02}:{:02}", s / 3600, s % 3600 / 60, s % 60)
}

/// `YYYY-MM-DD` (UTC) of a Unix time.
pub fn format_date(unix: i64) -> String {
    let (y, m, d) = civil_from_days(unix.div_euclid(SECS_PER_DAY));
    format!("{y:04}-{m:02}-{d:02}")
}

/// Parses `YYYY-MM-DD` into days since the Unix epoch.
pub fn parse_date(s: &str) -> Option<i64> {
    let mut it = s.trim().splitn(3, '-');
    let y: i64 = it.next()?.parse().ok()?;
    let m: u32 = it.next()?.parse().ok()?;
    let d: u32 = it.next()?.parse().ok()?;
    if !(1970..=9999).contains(&y) || !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

// Howard Hinnant's civil-calendar algorithms.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// "in 12 days", "3 hours ago", "just now".
pub fn relative_time(now: i64, t: i64) -> String {
    let delta = t - now;
    let abs = delta.unsigned_abs() as i64;
    let (n, unit) = if abs < 60 {
        return "just now".into();
    } else if abs < 3600 {
        (abs / 60, "minute")
    } else if abs < SECS_PER_DAY {
        (abs / 3600, "hour")
    } else {
        (abs / SECS_PER_DAY, "day")
    };
    let plural = if n == 1 { "" } else { "s" };
    if delta > 0 {
        format!("in {n} {unit}{plural}")
    } else {
        format!("{n} {unit}{plural} ago")
    }
}

#[cfg(test)]
mod date_tests {
    use super::*;

    #[test]
    fn dates_round_trip_through_the_civil_calendar() {
        assert_eq!(format_date(0), "1970-01-01");
        assert_eq!(format_date(1_795_000_000), "2026-11-18");
        for s in ["2024-02-29", "2026-12-31", "2000-03-01"] {
            assert_eq!(format_date(parse_date(s).unwrap() * SECS_PER_DAY), s);
        }
        assert_eq!(parse_date("2025-02-29"), None);
        assert_eq!(parse_date("2026-13-01"), None);
        assert_eq!(parse_date("yesterday"), None);
    }

    #[test]
    fn relative_times_read_naturally() {
        assert_eq!(relative_time(1000, 1000 + 12 * SECS_PER_DAY + 5), "in 12 days");
        assert_eq!(relative_time(10_000, 10_000 - 3 * 3600), "3 hours ago");
        assert_eq!(relative_time(100, 110), "just now");
        assert_eq!(relative_time(0, 60), "in 1 minute");
    }

    #[test]
    fn a_created_secret_is_redacted_in_debug_output() {
        let s = CreatedSecret { client_id: "id".into(), name: "n".into(), secret: "acs_topsecret".into() };
        assert!(!format!("{s:?}").contains("topsecret"));
    }
}

// ---------------------------------------------------------------------------
// Users (the User Manager's page) and General Settings (the Administrator's).

/// A user as the Users page lists them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSummary {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub active: bool,
    /// Roles held now, in catalogue order.
    pub roles: Vec<Role>,
    pub created_at: i64,
    /// Live (not deleted) credentials the user owns.
    pub credentials: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserPage {
    pub items: Vec<UserSummary>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
    pub now: i64,
}

/// One user, with what the caller may do to them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserDetail {
    pub user: UserSummary,
    /// Roles the user lost, with when.
    pub revoked: Vec<(Role, i64)>,
    /// Roles the caller may grant or remove (Administrator only for
    /// Administrators).
    pub manageable: Vec<Role>,
    /// The caller is looking at their own account.
    pub is_self: bool,
    /// The caller may deactivate the user or reset their password.
    pub can_manage_account: bool,
    /// What a role change ends (General Settings), said before it is made.
    pub role_change_rule: RoleChangeRule,
    pub now: i64,
}

/// A password generated by the server, shown once. `Debug` never prints it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedPassword {
    pub user_id: String,
    pub username: String,
    /// Set when the server generated the password.
    pub password: Option<String>,
}

impl fmt::Debug for IssuedPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedPassword")
            .field("user_id", &self.user_id)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

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

// ---------------------------------------------------------------------------
// Auditors: the audit log and every credential.

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

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub items: Vec<AuditEntry>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
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
}

impl AuditEvent {
    pub const ALL: [AuditEvent; 16] = [
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
        }
    }
}

/// Every event type's stored name, for the filter.
pub const AUDIT_EVENT_TYPES: [&str; 16] = {
    let mut out = [""; 16];
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
    pub fn status(&self, now: i64) -> &'static str {
        if self.deleted_at.is_some() {
            "deleted"
        } else if self.expires_at <= now {
            "expired"
        } else {
            "active"
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditedCredentialPage {
    pub items: Vec<AuditedCredential>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
    pub now: i64,
}
