//! The Users page for User Managers: find users, create them, and on each
//! user's page grant and remove roles, deactivate or reactivate the account
//! and reset the password. The server decides what is allowed; the page
//! only hides what would be refused anyway and explains why.

use crate::api::users::{get_user, list_users, CreateUser, GrantRole, ResetPassword, RevokeRole, SetUserActive};
use crate::error::AppError;
use crate::model::{
    format_date, relative_time, CurrentUser, IssuedPassword, Page, Role, RoleChangeRule, RoleGroup, UserDetail,
    UserSummary,
};
use crate::ui::components::{use_hydrated, Modal, PageHead, RoleChip, SecretField, TableFooter};
use leptos::either::Either;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

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
            let status = if u.active {
                view! { <span class="badge badge-success">"Active"</span> }.into_any()
            } else {
                view! { <span class="badge badge-muted">"Deactivated"</span> }.into_any()
            };
            let no_roles = u.roles.is_empty().then(|| view! { <span class="muted">"No roles"</span> });
            view! {
                <tr>
                    <td class="name">
                        <a href=format!("/users/{}", u.id)>{u.display_name.clone()}</a>
                        <div class="muted mono">{u.username.clone()}</div>
                    </td>
                    <td><div class="chips">{roles}{no_roles}</div></td>
                    <td>{status}</td>
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

/// Roles the signed-in user may hand out: all but Administrator, which
/// only Administrators grant.
fn grantable_by(me: Option<&CurrentUser>) -> Vec<Role> {
    let admin = me.is_some_and(|u| u.has(Role::Administrator));
    Role::ALL.into_iter().filter(|r| *r != Role::Administrator || admin).collect()
}

#[component]
fn NewUserForm(create: ServerAction<CreateUser>, on_cancel: Callback<()>) -> impl IntoView {
    let me = use_context::<CurrentUser>();
    let error = Signal::derive(move || create.value().get().and_then(|r| r.err()));
    let field_error = move |field: &'static str| move || error.get().and_then(|e| e.field_message(field));
    let other_error = move || {
        error
            .get()
            .filter(|e| !matches!(e, AppError::Invalid { field, .. } if ["username", "display_name", "password"].contains(&field.as_str())))
            .map(|e| e.to_string())
    };
    let roles = role_groups(grantable_by(me.as_ref()), |role| {
        let id = format!("new-user-role-{}", role.slug());
        view! {
            <div class="checkbox-row">
                <input type="checkbox" id=id.clone() name="roles[]" value=role.slug() />
                <label for=id>
                    <span class="role-name">{role.label()}</span>
                    <span class="hint">{role.description()}</span>
                </label>
            </div>
        }
    });
    view! {
        <ActionForm action=create>
            <div class="modal-head"><h2>"New user"</h2></div>
            <div class="modal-body stack">
                {move || other_error().map(|m| view! { <div class="alert alert-error" role="alert">{m}</div> })}
                <div class="field">
                    <label for="new-username">"Username"</label>
                    <input id="new-username" name="username" type="text" required maxlength="64" autocomplete="off"
                        aria-invalid=move || field_error("username")().is_some().to_string() />
                    <div class="hint">"3 to 64 letters, digits and . _ @ -. Used to sign in."</div>
                    {move || field_error("username")().map(|m| view! { <div class="field-error">{m}</div> })}
                </div>
                <div class="field">
                    <label for="new-display-name">"Display name"</label>
                    <input id="new-display-name" name="display_name" type="text" required maxlength="100"
                        aria-invalid=move || field_error("display_name")().is_some().to_string() />
                    {move || field_error("display_name")().map(|m| view! { <div class="field-error">{m}</div> })}
                </div>
                <div class="field">
                    <label for="new-password">"Initial password"</label>
                    <input id="new-password" name="password" type="password" autocomplete="new-password" maxlength="256"
                        aria-invalid=move || field_error("password")().is_some().to_string() />
                    <div class="hint">"Leave empty to generate one; it is shown once, after the user is created."</div>
                    {move || field_error("password")().map(|m| view! { <div class="field-error">{m}</div> })}
                </div>
                <div class="field">
                    <span class="field-label">"Roles"</span>
                    {roles}
                </div>
            </div>
            <div class="modal-actions">
                <button type="button" class="btn" on:click=move |_| on_cancel.run(())>"Cancel"</button>
                <button type="submit" class="btn btn-primary" disabled=move || create.pending().get()>"Create user"</button>
            </div>
        </ActionForm>
    }
}

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

/// A password set by the server, shown once with a copy button.
#[component]
fn IssuedPasswordPanel(issued: IssuedPassword, heading: &'static str) -> impl IntoView {
    let IssuedPassword { user_id, username, password } = issued;
    view! {
        <div class="stack secret-panel">
            <h2 class="success-heading">{heading}</h2>
            <p class="muted">"User: " <strong class="mono">{username}</strong></p>
            {match password {
                Some(password) => Either::Left(view! {
                    <SecretField id="issued-password" label="Password" value=password copy_label="password" />
                    <div class="warning-callout" role="alert">
                        <strong>"Give this password to the user now. "</strong>
                        "It will not be shown again."
                    </div>
                }),
                None => Either::Right(view! { <p>"The password you chose is set."</p> }),
            }}
            <p><a href=format!("/users/{user_id}")>"Open the user's page"</a></p>
        </div>
    }
}

/// What the confirm dialog of the user page is asking about.
#[derive(Clone, Debug, PartialEq)]
enum Confirm {
    None,
    RemoveRole(Role),
    Deactivate,
}

#[component]
pub fn UserDetailPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let grant = ServerAction::<GrantRole>::new();
    let revoke = ServerAction::<RevokeRole>::new();
    let active = ServerAction::<SetUserActive>::new();
    let confirm = RwSignal::new(Confirm::None);
    let detail = Resource::new(
        move || (id(), grant.version().get(), revoke.version().get(), active.version().get()),
        |(id, ..)| get_user(id),
    );
    Effect::new(move |_| {
        if revoke.version().get() > 0 || active.version().get() > 0 {
            confirm.set(Confirm::None);
        }
    });
    let error = move || {
        [grant.value().get(), revoke.value().get(), active.value().get()]
            .into_iter()
            .flatten()
            .find_map(|r| r.err())
            .map(|e| e.to_string())
    };

    view! {
        <p class="breadcrumb"><a href="/users">"← Users"</a></p>
        <Transition fallback=|| view! { <div class="page-loading">"Loading…"</div> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(d) => Either::Left(view! { <UserDetailView d grant active confirm error=Signal::derive(error) /> }),
                    Err(e) => Either::Right(view! { <div class="alert alert-error" role="alert">{e.to_string()}</div> }),
                }
            })}
        </Transition>
        <ConfirmDialogs detail confirm revoke active />
    }
}

#[component]
fn UserDetailView(
    d: UserDetail,
    grant: ServerAction<GrantRole>,
    active: ServerAction<SetUserActive>,
    confirm: RwSignal<Confirm>,
    error: Signal<Option<String>>,
) -> impl IntoView {
    let u = d.user.clone();
    let status = if u.active {
        view! { <span class="badge badge-success">"Active"</span> }.into_any()
    } else {
        view! { <span class="badge badge-muted">"Deactivated"</span> }.into_any()
    };
    let user_id = u.id.clone();
    let held = u.roles.clone();
    let revoked = d.revoked.clone();
    let manageable = d.manageable.clone();
    let rule = d.role_change_rule;
    let now = d.now;
    let rows = role_groups(Role::ALL.to_vec(), move |role| {
        let is_held = held.contains(&role);
        let state = match (is_held, revoked.iter().find(|(r, _)| *r == role)) {
            (true, _) => view! { <span class="badge badge-success">"Held"</span> }.into_any(),
            (false, Some((_, at))) => view! {
                <span class="muted" title=format_date(*at)>{format!("Removed {}", relative_time(now, *at))}</span>
            }
            .into_any(),
            (false, None) => view! { <span class="muted">"Not held"</span> }.into_any(),
        };
        let action = if !manageable.contains(&role) {
            view! {
                <span class="hint" title="Only an Administrator can grant or remove this role.">
                    "Administrators only"
                </span>
            }
            .into_any()
        } else if is_held {
            view! {
                <button
                    type="button"
                    class="btn btn-sm btn-danger"
                    aria-label=format!("Remove {}", role.label())
                    on:click=move |_| confirm.set(Confirm::RemoveRole(role))
                >
                    "Remove"
                </button>
            }
            .into_any()
        } else {
            let user_id = user_id.clone();
            view! {
                <ActionForm action=grant>
                    <input type="hidden" name="id" value=user_id />
                    <input type="hidden" name="role" value=role.slug() />
                    <button type="submit" class="btn btn-sm" aria-label=format!("Grant {}", role.label())>"Grant"</button>
                </ActionForm>
            }
            .into_any()
        };
        view! {
            <div class="role-row" data-role=role.slug()>
                <div>
                    <div class="role-name">{role.label()}</div>
                    <div class="hint">{role.description()}</div>
                </div>
                <div class="role-state">{state}</div>
                <div class="role-action">{action}</div>
            </div>
        }
    });

    let account = if d.is_self {
        view! { <p class="muted">"This is your own account: another User Manager can deactivate it."</p> }.into_any()
    } else if !d.can_manage_account {
        view! { <p class="muted">"This user is an Administrator: only an Administrator can deactivate the account or reset its password."</p> }
            .into_any()
    } else if u.active {
        view! {
            <div class="row">
                <p class="spacer">
                    "Deactivating ends the user's sessions and stops every token of their credentials at once. "
                    "Their credentials stay, and work again for new tokens after reactivation."
                </p>
                <button type="button" class="btn btn-danger" on:click=move |_| confirm.set(Confirm::Deactivate)>
                    "Deactivate user"
                </button>
            </div>
        }
        .into_any()
    } else {
        let id = u.id.clone();
        view! {
            <ActionForm action=active>
                <input type="hidden" name="id" value=id />
                <input type="hidden" name="active" value="true" />
                <div class="row">
                    <p class="spacer">"This user is deactivated: they cannot sign in and their credentials get no tokens."</p>
                    <button type="submit" class="btn btn-primary">"Reactivate user"</button>
                </div>
            </ActionForm>
        }
        .into_any()
    };

    view! {
        <Title text=format!("{} · Users", u.display_name) />
        <div class="page-head">
            <div>
                <h1>{u.display_name.clone()} " " {status}</h1>
                <p class="muted">
                    <span class="mono">{u.username.clone()}</span>
                    {format!(" · created {} · {} credential{}", format_date(u.created_at), u.credentials, if u.credentials == 1 { "" } else { "s" })}
                </p>
            </div>
        </div>
        {move || error.get().map(|m| view! { <div class="alert alert-error" role="alert">{m}</div> })}
        <section class="card" aria-labelledby="roles-heading">
            <div class="card-head">
                <h2 id="roles-heading">"Roles"</h2>
            </div>
            <p class="hint role-change-rule">
                {match rule {
                    RoleChangeRule::AllTokens => format!("Granting or removing a role: {}", rule.consequence(true)),
                    RoleChangeRule::TokensWithRemovedRole => format!(
                        "Granting a role: {} Removing a role: {}",
                        rule.consequence(true),
                        rule.consequence(false)
                    ),
                }}
                " (General Settings)"
            </p>
            {rows}
        </section>
        <section class="card" aria-labelledby="account-heading">
            <div class="card-head"><h2 id="account-heading">"Account"</h2></div>
            {account}
        </section>
        {d.can_manage_account.then(|| view! { <ResetPasswordCard id=u.id.clone() /> })}
    }
}

#[component]
fn ConfirmDialogs(
    detail: Resource<Result<UserDetail, AppError>>,
    confirm: RwSignal<Confirm>,
    revoke: ServerAction<RevokeRole>,
    active: ServerAction<SetUserActive>,
) -> impl IntoView {
    let close = Callback::new(move |_| confirm.set(Confirm::None));
    let user = move || detail.get().and_then(|r| r.ok()).map(|d| d.user);
    let rule = move || detail.get().and_then(|r| r.ok()).map(|d| d.role_change_rule);
    view! {
        <Modal open=Signal::derive(move || matches!(confirm.get(), Confirm::RemoveRole(_))) on_close=close label="Remove role">
            {move || match (confirm.get(), user()) {
                (Confirm::RemoveRole(role), Some(u)) => Some(view! {
                    <ActionForm action=revoke>
                        <input type="hidden" name="id" value=u.id.clone() />
                        <input type="hidden" name="role" value=role.slug() />
                        <div class="modal-head"><h2>{format!("Remove {} from {}?", role.label(), u.display_name)}</h2></div>
                        <div class="modal-body stack">
                            <p>{rule().map(|r| r.consequence(false))}</p>
                            <p>
                                {u.username.clone()} "'s credentials keep the role, greyed out, and new tokens will not get it."
                            </p>
                        </div>
                        <div class="modal-actions">
                            <button type="button" class="btn" autofocus on:click=move |_| close.run(())>"Cancel"</button>
                            <button type="submit" class="btn btn-danger">"Remove role"</button>
                        </div>
                    </ActionForm>
                }),
                _ => None,
            }}
        </Modal>
        <Modal open=Signal::derive(move || confirm.get() == Confirm::Deactivate) on_close=close label="Deactivate user">
            {move || match (confirm.get(), user()) {
                (Confirm::Deactivate, Some(u)) => Some(view! {
                    <ActionForm action=active>
                        <input type="hidden" name="id" value=u.id.clone() />
                        <input type="hidden" name="active" value="false" />
                        <div class="modal-head"><h2>{format!("Deactivate {}?", u.display_name)}</h2></div>
                        <div class="modal-body stack">
                            <p>
                                {format!(
                                    "{} is signed out everywhere, cannot sign in, and every token of their {} credential{} stops working immediately.",
                                    u.username,
                                    u.credentials,
                                    if u.credentials == 1 { "" } else { "s" },
                                )}
                            </p>
                        </div>
                        <div class="modal-actions">
                            <button type="button" class="btn" autofocus on:click=move |_| close.run(())>"Cancel"</button>
                            <button type="submit" class="btn btn-danger">"Deactivate user"</button>
                        </div>
                    </ActionForm>
                }),
                _ => None,
            }}
        </Modal>
    }
}

/// Reset password. Its action is its own, so a refused password (too
/// short, say) does not reload the page: it stays in the field with its
/// error.
#[component]
fn ResetPasswordCard(id: String) -> impl IntoView {
    let reset = ServerAction::<ResetPassword>::new();
    let issued = RwSignal::new(None::<IssuedPassword>);
    Effect::new(move |_| {
        if let Some(Ok(p)) = reset.value().get() {
            reset.value().set(None);
            issued.set(Some(p));
        }
    });
    let error = move || reset.value().get().and_then(|r| r.err());
    let field_error = move || error().and_then(|e| e.field_message("password"));
    let other_error = move || error().filter(|e| e.field_message("password").is_none()).map(|e| e.to_string());
    view! {
        <section class="card" aria-labelledby="password-heading">
            <div class="card-head"><h2 id="password-heading">"Password"</h2></div>
            <ActionForm action=reset>
                <input type="hidden" name="id" value=id />
                {move || other_error().map(|m| view! { <div class="alert alert-error" role="alert">{m}</div> })}
                <div class="field">
                    <label for="reset-password">"New password"</label>
                    <div class="input-with-button">
                        <input id="reset-password" name="password" type="password" autocomplete="new-password" maxlength="256"
                            aria-invalid=move || field_error().is_some().to_string() />
                        <button type="submit" class="btn" disabled=move || reset.pending().get()>"Reset password"</button>
                    </div>
                    <div class="hint">"Leave empty to generate one. Resetting signs the user out everywhere."</div>
                    {move || field_error().map(|m| view! { <div class="field-error">{m}</div> })}
                </div>
            </ActionForm>
        </section>
        <Modal open=Signal::derive(move || issued.get().is_some()) on_close=Callback::new(move |_| issued.set(None)) label="Password reset">
            {move || issued.get().map(|p| view! {
                <div class="modal-body">
                    <IssuedPasswordPanel issued=p heading="Password reset" />
                </div>
                <div class="modal-actions">
                    <button type="button" class="btn btn-primary" on:click=move |_| issued.set(None)>"Done"</button>
                </div>
            })}
        </Modal>
    }
}
