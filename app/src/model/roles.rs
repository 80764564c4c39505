//! The role catalogue and its grouping on screen.

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

/// Only Administrators grant or remove Administrator, and only they manage
/// the account of an Administrator (change its roles, reset its password,
/// deactivate it): otherwise a User Manager could take over the account
/// that holds every right. `holder_roles` are the roles of whoever asks.
pub fn may_handle_administrator(holder_roles: &[Role]) -> bool {
    holder_roles.contains(&Role::Administrator)
}

/// The roles someone may grant or remove, in catalogue order: every role,
/// Administrator only when they may handle it ([`may_handle_administrator`]).
pub fn grantable_roles(handles_administrator: bool) -> Vec<Role> {
    Role::ALL.into_iter().filter(|r| *r != Role::Administrator || handles_administrator).collect()
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
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
    fn only_a_holder_of_administrator_may_handle_administrator() {
        assert!(may_handle_administrator(&[Role::Administrator]));
        assert!(may_handle_administrator(&[Role::UserManager, Role::Administrator]));
        assert!(!may_handle_administrator(&[]));
        assert!(!may_handle_administrator(&[Role::UserManager]));
        let every_other: Vec<Role> = Role::ALL.into_iter().filter(|r| *r != Role::Administrator).collect();
        assert!(!may_handle_administrator(&every_other), "every other role together is not enough");
    }

    #[test]
    fn administrator_is_grantable_only_by_whoever_may_handle_it() {
        assert_eq!(grantable_roles(true), Role::ALL.to_vec());
        let every_other: Vec<Role> = Role::ALL.into_iter().filter(|r| *r != Role::Administrator).collect();
        assert_eq!(grantable_roles(false), every_other);
    }

    #[test]
    fn the_catalogue_has_the_seed_roles_in_their_groups() {
        let operational: Vec<_> = Role::ALL.into_iter().filter(|r| r.group() == RoleGroup::Operational).collect();
        assert_eq!(operational.len(), 5);
        let builder: Vec<_> = Role::ALL.into_iter().filter(|r| r.group() == RoleGroup::Builder).collect();
        assert_eq!(builder, vec![Role::UserManager, Role::MasterBuilder, Role::ReleaseManager]);
    }
}
