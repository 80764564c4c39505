//! One user's page: their roles, their account and their password.

use super::dialogs::{Confirm, ConfirmDialogs, IssuedPasswordPanel};
use super::role_groups;
use crate::api::users::{get_user, GrantRole, ResetPassword, RevokeRole, SetUserActive};
use crate::model::{format_date, relative_time, IssuedPassword, Role, RoleChangeRule, UserDetail};
use crate::ui::components::{Modal, UserStatusBadge};
use leptos::either::Either;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

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
                <h1>{u.display_name.clone()} " " <UserStatusBadge active=u.active /></h1>
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
