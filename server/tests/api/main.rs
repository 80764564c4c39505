//! The integration tests, one binary: the real router in process (`common`)
//! and real server processes (`procs`), a module per topic. The fuzz target
//! and the crash test are binaries of their own (CI runs them apart).

#[path = "../common/mod.rs"]
mod common;
#[path = "../procs/mod.rs"]
mod procs;

mod audit;
mod auth;
mod authz;
mod cli;
mod credentials;
mod db;
mod errors;
mod files;
mod forward_auth;
mod limits;
mod oauth;
mod processes;
mod protected_apis;
mod proxies;
mod revocation;
mod rules;
mod stock_libraries;
mod structure;
mod throttles;
mod users;
