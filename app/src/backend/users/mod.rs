//! Users and the roles they hold.

pub mod repo;
pub mod service;

use crate::model::Role;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub active: bool,
    pub sessions_valid_after: i64,
}

/// A user with the roles they currently hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserWithRoles {
    pub user: User,
    pub roles: Vec<Role>,
}
