//! The domain error. Services refuse by returning it, and each surface maps
//! it once, in one table (docs/errors.md): the UI and the no-JS forms in
//! `crate::error` (`AppError`), the JSON API in the server's `error.rs`, the
//! OAuth endpoints in the server's `oauth/error.rs`, the CLI in its `cli`
//! module. Nothing here knows about HTTP.

use crate::model::Role;
use std::fmt;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(thiserror::Error)]
pub enum Error {
    #[error("not signed in")]
    Unauthenticated,
    /// The caller is known but lacks the role this needs.
    #[error("forbidden: needs {0:?}")]
    MissingRole(Role),
    /// The caller is known, but this is closed to them for a reason they may
    /// be told (a fixed ASCII text: surfaces show it as it is).
    #[error("refused: {0}")]
    Refused(&'static str),
    #[error("not found")]
    NotFound,
    #[error("invalid {field}: {message}")]
    Invalid { field: &'static str, message: String },
    /// A password, or a client's secret, did not match.
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("throttled for {retry_after_secs}s")]
    Throttled { retry_after_secs: u64 },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl Error {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Error::Invalid { field, message: message.into() }
    }
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        Error::Internal(anyhow::Error::new(e).context("database"))
    }
}

/// Prints the whole `source()` chain, so logs show the cause without the
/// caller having to walk it.
impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{self}")?;
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            writeln!(f, "  caused by: {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}
