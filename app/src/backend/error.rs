//! The domain error. Services refuse by returning it; it is mapped once to
//! the UI ([`crate::error::AppError`]) here, and once to HTTP / OAuth JSON in
//! the server crate.

use crate::error::AppError;
use std::fmt;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(thiserror::Error)]
pub enum Error {
    #[error("not signed in")]
    Unauthenticated,
    #[error("forbidden")]
    Forbidden,
    #[error("not found")]
    NotFound,
    #[error("invalid {field}: {message}")]
    Invalid { field: &'static str, message: String },
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

impl From<Error> for AppError {
    fn from(e: Error) -> Self {
        match e {
            Error::Unauthenticated => AppError::Unauthenticated,
            Error::Forbidden => AppError::Forbidden,
            Error::NotFound => AppError::NotFound,
            Error::Invalid { field, message } => AppError::Invalid { field: field.to_string(), message },
            Error::InvalidCredentials => AppError::InvalidCredentials,
            Error::Throttled { retry_after_secs } => AppError::TooManyAttempts { retry_after_secs },
            Error::Internal(e) => {
                tracing::error!(error = ?e, "internal error");
                AppError::Internal
            }
        }
    }
}
