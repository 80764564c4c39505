//! The Application Credentials pages: the signed-in user's own credentials
//! (`list`) with create, edit, regenerate and delete in pop-ups
//! (`dialogs`), and a stand-alone page for each action that works without
//! JavaScript (`pages`). The pop-ups and the pages share one form
//! (`form`).

mod dialogs;
mod form;
mod list;
mod pages;
mod rights;

pub use form::FormValues;
pub use list::CredentialsPage;
pub use pages::{DeleteCredentialPage, EditCredentialPage, NewCredentialPage, NoJsOutcome, RegenerateCredentialPage};
