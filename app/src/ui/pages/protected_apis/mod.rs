//! The Protected APIs page (Administrators): the resource servers that
//! introspect tokens (RFC 7662 §2.1) and that clients name as `resource`
//! (RFC 8707 §2). The list (`list`) opens create, edit, regenerate and
//! delete in pop-ups (`dialogs`); each action also has a stand-alone page
//! (`pages`) that works without JavaScript, as the credential pages do
//! (`app/src/ui/pages/credentials/`).

mod dialogs;
mod fields;
mod list;
mod pages;

pub use list::ProtectedApisPage;
pub use pages::{
    DeleteProtectedApiPage, EditProtectedApiPage, NewProtectedApiPage, ProtectedApiOutcome, RegenerateProtectedApiPage,
};
