//! Protected APIs (resource servers, RFC 7662 §2.1): what Administrators
//! see of them. Never a secret (a new one travels in `CreatedSecret`).

use serde::{Deserialize, Serialize};

/// One live protected API.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProtectedApiSummary {
    /// Its client id for introspection.
    pub id: String,
    pub name: String,
    /// The absolute URI clients name as `resource` (RFC 8707 §2).
    pub audience: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub secret_rotated_at: i64,
}
