//! Wire types shared by the server and the browser. Nothing here may ever
//! hold a password, a client secret or a token, except the one type built to
//! carry a freshly generated secret to the browser exactly once.
//!
//! One module per area; every item is re-exported here, so it is always
//! `crate::model::X`.

mod audit;
mod credentials;
mod page;
mod protected_apis;
mod roles;
mod settings;
mod time;
mod users;

pub use self::audit::*;
pub use self::credentials::*;
pub use self::page::*;
pub use self::protected_apis::*;
pub use self::roles::*;
pub use self::settings::*;
pub use self::time::*;
pub use self::users::*;
