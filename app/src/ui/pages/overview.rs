//! The start page: who you are and what your roles let you do.

use crate::model::{CurrentUser, RoleGroup};
use crate::ui::components::PageHead;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn OverviewPage() -> impl IntoView {
    let user = expect_context::<CurrentUser>();
    let groups = RoleGroup::ALL
        .into_iter()
        .filter_map(|group| {
            let roles: Vec<_> = user.roles.iter().copied().filter(|r| r.group() == group).collect();
            (!roles.is_empty()).then(|| {
                let items = roles
                    .into_iter()
                    .map(|r| {
                        view! {
                            <li>
                                <span class="role-name">{r.label()}</span>
                                <span class="muted">{r.description()}</span>
                            </li>
                        }
                    })
                    .collect_view();
                view! {
                    <section class="role-group">
                        <h3>{group.label()}</h3>
                        <ul class="role-list">{items}</ul>
                    </section>
                }
            })
        })
        .collect_view();
    let no_roles = user.roles.is_empty();

    view! {
        <Title text="Overview" />
        <PageHead title="Overview" description="Your account and the roles you can pass on to application credentials." />
        <div class="card">
            <div class="card-head">
                <h2>"Signed in as " {user.display_name.clone()}</h2>
                <span class="muted mono">{user.username.clone()}</span>
            </div>
            <p class="muted">
                "Application credentials act on your behalf with a subset of the roles below. "
                "If one of your roles is revoked, every token carrying it stops working at once."
            </p>
            {groups}
            <Show when=move || no_roles>
                <div class="empty-state">
                    <h3>"You hold no roles yet"</h3>
                    <p class="muted">"Ask a User Manager to assign the roles you need."</p>
                </div>
            </Show>
        </div>
    }
}
