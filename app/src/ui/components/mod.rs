//! Small shared pieces of UI, one module per kind.

mod badges;
mod chips;
mod copy;
mod dialog;
mod hydration;
mod page_head;
mod table;

pub use badges::{CredentialStatusBadge, UserStatusBadge};
pub use chips::{revoked_tooltip, CredentialRoleChip, RoleChip};
pub use copy::{CopyButton, SecretField, SecretPanel};
pub use dialog::Modal;
pub use hydration::use_hydrated;
pub use page_head::PageHead;
pub use table::{link_with, SortHeader, TableFooter};
