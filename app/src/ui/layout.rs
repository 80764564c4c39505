//! The signed-in frame: top bar with the user menu, left navigation showing
//! only what the user may use, and the page content.

use crate::api::session::{get_current_user, Logout};
use crate::model::{CurrentUser, Role};
use crate::ui::components::RoleChip;
use leptos::either::Either;
use leptos::prelude::*;
use leptos_router::components::{Outlet, Redirect, A};
use leptos_router::hooks::use_location;

struct NavItem {
    href: &'static str,
    label: &'static str,
    visible: fn(&CurrentUser) -> bool,
    /// Highlighted only on exactly this path (not on the pages below it).
    exact: bool,
}

const NAV: &[NavItem] = &[
    NavItem { href: "/", label: "Application Credentials", visible: |_| true, exact: true },
    NavItem { href: "/audit/credentials", label: "All Credentials", visible: |u| u.has(Role::Auditor), exact: false },
    NavItem { href: "/audit", label: "Audit Log", visible: |u| u.has(Role::Auditor), exact: true },
    NavItem { href: "/users", label: "Users", visible: |u| u.has(Role::UserManager), exact: false },
    NavItem { href: "/protected-apis", label: "Protected APIs", visible: |u| u.has(Role::Administrator), exact: false },
    NavItem { href: "/settings", label: "General Settings", visible: |u| u.has(Role::Administrator), exact: true },
];

#[component]
pub fn Layout() -> impl IntoView {
    let logout = ServerAction::<Logout>::new();
    let user = Resource::new_blocking(move || logout.version().get(), |_| get_current_user());
    let location = use_location();

    view! {
        <Suspense fallback=|| view! { <div class="page-loading" aria-busy="true">"Loading…"</div> }>
            {move || Suspend::new(async move {
                match user.await {
                    Ok(Some(u)) => {
                        provide_context(u.clone());
                        Either::Left(view! { <Frame user=u logout /> })
                    }
                    _ => {
                        let here = location.pathname.get_untracked();
                        let next = if here == "/" { String::new() } else { format!("?next={here}") };
                        Either::Right(view! { <Redirect path=format!("/login{next}") /> })
                    }
                }
            })}
        </Suspense>
    }
}

#[component]
fn Frame(user: CurrentUser, logout: ServerAction<Logout>) -> impl IntoView {
    let nav = NAV
        .iter()
        .filter(|item| (item.visible)(&user))
        .map(|item| view! { <li><A href=item.href exact=item.exact>{item.label}</A></li> })
        .collect_view();
    let roles = user.roles.iter().map(|r| view! { <RoleChip role=*r /> }).collect_view();
    let initials: String = user.display_name.split_whitespace().filter_map(|w| w.chars().next()).take(2).collect();

    view! {
        <div class="app">
            <header class="topbar">
                <a class="brand" href="/">
                    <span class="brand-mark" aria-hidden="true">"ac"</span>
                    <span class="brand-name">"appcred"</span>
                </a>
                <details class="user-menu">
                    <summary aria-label="Account menu">
                        <span class="avatar" aria-hidden="true">{initials}</span>
                        <span class="user-name">{user.display_name.clone()}</span>
                    </summary>
                    <div class="menu-panel" role="menu">
                        <div class="menu-section">
                            <div class="menu-title">{user.display_name.clone()}</div>
                            <div class="muted mono">{user.username.clone()}</div>
                        </div>
                        <div class="menu-section">
                            <div class="menu-label">"Your roles"</div>
                            <div class="chips">{roles}</div>
                        </div>
                        <ActionForm action=logout>
                            <button type="submit" class="btn btn-block" role="menuitem">"Sign out"</button>
                        </ActionForm>
                    </div>
                </details>
            </header>
            <div class="body">
                <nav class="sidenav" aria-label="Main">
                    <ul>{nav}</ul>
                </nav>
                <main class="content" id="main">
                    <Outlet />
                </main>
            </div>
        </div>
    }
}
