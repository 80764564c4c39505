//! Server functions: thin adapters from HTTP to the backend services. Each
//! one reads its context, authorizes on the server, calls a service and maps
//! the result to a wire type. They are public endpoints under
//! [`crate::SERVER_FN_PREFIX`].

pub mod audit;
#[cfg(feature = "ssr")]
pub mod context;
pub mod credentials;
pub mod protected_apis;
pub mod session;
pub mod settings;
pub mod users;
