//! The pop-ups of the Users pages: a new user, a password shown once, and
//! the confirmations of a role removal and a deactivation.

use super::role_groups;
use crate::api::users::{CreateUser, RevokeRole, SetUserActive};
use crate::error::AppError;
use crate::model::{grantable_roles, may_handle_administrator, CurrentUser, IssuedPassword, Role, UserDetail};
use crate::ui::components::{Modal, SecretField};
use leptos::either::Either;
use leptos::prelude::*;

/// Roles the signed-in user may hand out.
fn grantable_by(me: Option<&CurrentUser>) -> Vec<Role> {
    grantable_roles(me.is_some_and(|u| may_handle_administrator(&u.roles)))
}

#[component]
pub(super) fn NewUserForm(create: ServerAction<CreateUser>, on_cancel: Callback<()>) -> impl IntoView {
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

/// A password set by the server, shown once with a copy button.
#[component]
pub(super) fn IssuedPasswordPanel(issued: IssuedPassword, heading: &'static str) -> impl IntoView {
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
pub(super) enum Confirm {
    None,
    RemoveRole(Role),
    Deactivate,
}

#[component]
pub(super) fn ConfirmDialogs(
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
