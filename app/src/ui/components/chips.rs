//! Role chips.

use crate::model::{format_date, CredentialRole, Role};
use leptos::prelude::*;

#[component]
pub fn RoleChip(role: Role) -> impl IntoView {
    view! { <span class="chip" title=role.description()>{role.label()}</span> }
}

/// A role on a credential: greyed out and struck through when the owner has
/// lost it, with a tooltip saying since when.
#[component]
pub fn CredentialRoleChip(role: CredentialRole) -> impl IntoView {
    match role.revoked_at {
        None => view! { <span class="chip" title=role.role.description()>{role.role.label()}</span> }.into_any(),
        Some(at) => {
            let tip = revoked_tooltip(at);
            view! {
                <span class="chip chip-revoked" title=tip aria-label=format!("{} (revoked)", role.role.label())>
                    {role.role.label()}
                </span>
            }
            .into_any()
        }
    }
}

pub fn revoked_tooltip(revoked_at: i64) -> String {
    if revoked_at > 0 {
        format!("Revoked from you on {}. New tokens will not get this role.", format_date(revoked_at))
    } else {
        "You do not hold this role. New tokens will not get this role.".to_string()
    }
}
