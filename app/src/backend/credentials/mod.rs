//! Application credentials: records owned by a user, carrying a subset of
//! the owner's roles, with a secret shown once and stored as a keyed digest.

pub mod audited;
pub mod repo;
pub mod service;
