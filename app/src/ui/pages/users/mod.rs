//! The Users page for User Managers: find users, create them, and on each
//! user's page grant and remove roles, deactivate or reactivate the account
//! and reset the password. The server decides what is allowed; the page
//! only hides what would be refused anyway and explains why.

mod detail;
mod dialogs;
mod list;

pub use detail::UserDetailPage;
pub use list::UsersPage;

use crate::model::{Role, RoleGroup};
use leptos::prelude::*;

/// `roles` grouped under their group's heading, each rendered by `row`.
fn role_groups<V: IntoView + 'static>(roles: Vec<Role>, row: impl Fn(Role) -> V + Clone + 'static) -> impl IntoView {
    RoleGroup::ALL
        .into_iter()
        .filter_map(move |group| {
            let in_group: Vec<Role> = roles.iter().copied().filter(|r| r.group() == group).collect();
            (!in_group.is_empty()).then(|| {
                view! {
                    <fieldset class="fieldset">
                        <legend>{group.label()}</legend>
                        {in_group.into_iter().map(row.clone()).collect_view()}
                    </fieldset>
                }
            })
        })
        .collect_view()
}
