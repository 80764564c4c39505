//! The error type every server function returns. Its variants are what the
//! UI can act on (a message next to a field, a redirect to sign-in); none of
//! them carries internals, and none may carry a secret (ASVS V16.5.1).

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AppError {
    /// No valid session: sign in (again).
    Unauthenticated,
    /// Signed in, but this needs a role the user does not hold.
    Forbidden,
    /// The thing does not exist, or is not the caller's to see.
    NotFound,
    /// Bad input for one field; `field` names the form field.
    Invalid { field: String, message: String },
    /// Sign-in failed. Deliberately says nothing about which part was wrong.
    InvalidCredentials,
    /// Too many failed attempts; try again after this many seconds.
    TooManyAttempts { retry_after_secs: u64 },
    /// Something broke on the server. Details are in the server log only.
    Internal,
    /// Transport-level problem between the browser and the server.
    Transport(String),
}

impl AppError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::Invalid { field: field.into(), message: message.into() }
    }

    /// The message for `field`, if this error is about it.
    pub fn field_message(&self, field: &str) -> Option<String> {
        match self {
            AppError::Invalid { field: f, message } if f == field => Some(message.clone()),
            _ => None,
        }
    }

    /// HTTP status for server-function responses.
    pub fn status(&self) -> u16 {
        match self {
            AppError::Unauthenticated | AppError::InvalidCredentials => 401,
            AppError::Forbidden => 403,
            AppError::NotFound => 404,
            AppError::Invalid { .. } => 422,
            AppError::TooManyAttempts { .. } => 429,
            AppError::Internal => 500,
            AppError::Transport(_) => 400,
        }
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AppError::Unauthenticated => f.write_str("Your session has ended. Please sign in again."),
            AppError::Forbidden => f.write_str("You do not have permission to do that."),
            AppError::NotFound => f.write_str("Not found."),
            AppError::Invalid { message, .. } => f.write_str(message),
            AppError::InvalidCredentials => f.write_str("Incorrect username or password."),
            AppError::TooManyAttempts { retry_after_secs } => {
                let minutes = retry_after_secs.div_ceil(60).max(1);
                write!(
                    f,
                    "Too many failed attempts. Try again in {minutes} minute{}.",
                    if minutes == 1 { "" } else { "s" }
                )
            }
            AppError::Internal => f.write_str("Something went wrong on our side. Please try again."),
            AppError::Transport(_) => f.write_str("Could not reach the server. Check your connection and try again."),
        }
    }
}

impl std::error::Error for AppError {}

/// The table: every domain refusal's UI answer. The server sets the HTTP
/// status of a server function's error from [`AppError::status`], and the
/// no-JS forms render the same error beside the field (docs/errors.md).
#[cfg(feature = "ssr")]
impl From<crate::backend::Error> for AppError {
    fn from(e: crate::backend::Error) -> Self {
        use crate::backend::Error as E;
        match e {
            E::Unauthenticated => AppError::Unauthenticated,
            E::MissingRole(_) | E::Refused(_) => AppError::Forbidden,
            E::NotFound => AppError::NotFound,
            E::Invalid { field, message } => AppError::Invalid { field: field.to_string(), message },
            E::InvalidCredentials => AppError::InvalidCredentials,
            E::Throttled { retry_after_secs } => AppError::TooManyAttempts { retry_after_secs },
            E::Internal(e) => {
                tracing::error!(error = ?e, "internal error");
                AppError::Internal
            }
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Request(e) | ServerFnErrorErr::Response(e) => AppError::Transport(e),
            // The decoder's message may quote submitted values (a password, say),
            // and no-JS form errors travel in the URL: never pass it on.
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::MissingArg(_) | ServerFnErrorErr::Deserialization(_) => {
                AppError::invalid("form", "The form was incomplete or malformed. Please fill it in again.")
            }
            _ => AppError::Internal,
        }
    }
}
