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
