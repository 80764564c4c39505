pub mod audit;
pub mod credentials;
pub mod login;
pub mod not_found;
pub mod protected_apis;
pub mod settings;
pub mod users;
