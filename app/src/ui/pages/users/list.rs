//! The list of users, with the new-user pop-up.

use super::dialogs::{IssuedPasswordPanel, NewUserForm};
use crate::api::users::{list_users, CreateUser};
use crate::model::{format_date, relative_time, IssuedPassword, Page, UserSummary};
use crate::ui::components::{use_hydrated, Modal, PageHead, RoleChip, TableFooter, UserStatusBadge};
use leptos::either::Either;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn UsersPage() -> impl IntoView {
    let query = use_query_map();
    let create = ServerAction::<CreateUser>::new();
    let creating = RwSignal::new(false);
    let created = RwSignal::new(None::<IssuedPassword>);
    let list = Resource::new(
        move || (query.get(), create.version().get()),
        |(q, _)| list_users(q.get("q"), q.get("page").and_then(|p| p.parse().ok())),
    );
    // The generated password moves from the action into the dialog's
    // signal, and the action forgets it.
    Effect::new(move |_| {
        if let Some(Ok(issued)) = create.value().get() {
            create.value().set(None);
            creating.set(false);
            created.set(Some(issued));
        }
    });
    let hydrated = use_hydrated();
    let q = move || query.read().get("q").unwrap_or_default();

    view! {
        <Title text="Users" />
        <PageHead title="Users" description="Who can sign in, and with which roles. Role changes apply to tokens at once.">
            <Show when=move || hydrated.get()>
                <button
                    type="button"
                    class="btn btn-primary"
                    on:click=move |_| {
                        create.value().set(None);
                        creating.set(true);
                    }
                >
                    "+ New user"
                </button>
            </Show>
        </PageHead>
        <form class="toolbar" method="get" action="/users" role="search">
            <label class="sr-only" for="user-filter">"Find users"</label>
            <input id="user-filter" name="q" type="search" placeholder="Find by username or name" value=q />
            <button type="submit" class="btn">"Find"</button>
        </form>
        <Transition fallback=|| view! { <div class="page-loading">"Loading…"</div> }>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(page) => Either::Left(view! { <UserTable page /> }),
                    Err(e) => Either::Right(view! { <div class="alert alert-error" role="alert">{e.to_string()}</div> }),
                }
            })}
        </Transition>
        <Modal open=Signal::derive(move || creating.get()) on_close=Callback::new(move |_| creating.set(false)) label="New user">
            <NewUserForm create on_cancel=Callback::new(move |_| creating.set(false)) />
        </Modal>
        <Modal open=Signal::derive(move || created.get().is_some()) on_close=Callback::new(move |_| created.set(None)) label="User created">
            {move || created.get().map(|issued| view! {
                <div class="modal-body">
                    <IssuedPasswordPanel issued heading="User created" />
                </div>
                <div class="modal-actions">
                    <button type="button" class="btn btn-primary" on:click=move |_| created.set(None)>"Done"</button>
                </div>
            })}
        </Modal>
    }
}

#[component]
fn UserTable(page: Page<UserSummary>) -> impl IntoView {
    if page.total == 0 {
        return Either::Left(view! {
            <div class="empty-state">
                <h3>"No users match"</h3>
                <p class="muted">"Try part of a username or display name."</p>
                <a class="btn" href="/users">"Show everyone"</a>
            </div>
        });
    }
    let now = page.now;
    let rows = page
        .items
        .into_iter()
        .map(|u| {
            let roles = u.roles.iter().map(|r| view! { <RoleChip role=*r /> }).collect_view();
            let no_roles = u.roles.is_empty().then(|| view! { <span class="muted">"No roles"</span> });
            view! {
                <tr>
                    <td class="name">
                        <a href=format!("/users/{}", u.id)>{u.display_name.clone()}</a>
                        <div class="muted mono">{u.username.clone()}</div>
                    </td>
                    <td><div class="chips">{roles}{no_roles}</div></td>
                    <td><UserStatusBadge active=u.active /></td>
                    <td>{u.credentials}</td>
                    <td title=format_date(u.created_at)>{relative_time(now, u.created_at)}</td>
                    <td class="actions">
                        <a class="btn btn-sm" href=format!("/users/{}", u.id) aria-label=format!("Manage {}", u.username)>
                            "Manage"
                        </a>
                    </td>
                </tr>
            }
        })
        .collect_view();
    let (total, current, per_page) = (page.total, page.page, page.per_page);
    Either::Right(view! {
        <div class="table-wrap">
            <table class="data">
                <thead>
                    <tr>
                        <th scope="col">"User"</th>
                        <th scope="col">"Roles"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col">"Credentials"</th>
                        <th scope="col">"Created"</th>
                        <th scope="col" class="actions"><span class="sr-only">"Actions"</span></th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
        <TableFooter total page=current per_page noun="user" base="/users" />
    })
}
