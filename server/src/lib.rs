#![recursion_limit = "512"]
//! The appcred server: configuration, the HTTP router with its middleware,
//! and the operator CLI. Domain logic lives in `app::backend`.

pub mod api;
pub mod cli;
pub mod config;
pub mod error;
pub mod exports;
pub mod files;
pub mod forward_auth;
pub mod middleware;
pub mod nojs;
pub mod oauth;
pub mod router;
pub mod serve;
pub mod startup;
