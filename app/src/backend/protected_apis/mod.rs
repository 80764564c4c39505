//! Protected APIs (resource servers): APIs of other systems that accept
//! appcred's tokens. Administrators register one with an audience URI;
//! clients bind a token to it with `resource` (RFC 8707 §2), and the API
//! asks about a token at the introspection endpoint (RFC 7662 §2.1) with
//! its client id and a secret shown once and stored as a keyed digest, as
//! a credential's is (`backend/credentials/`).
//!
//! Authentication and introspection are the token service's
//! (`tokens::service::authenticate_introspector`, `introspect_for_api`);
//! this area manages the records.

pub mod repo;
pub mod service;
