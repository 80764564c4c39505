pub mod audit;
pub mod credentials;
pub mod login;
pub mod not_found;
pub mod settings;
pub mod users;
