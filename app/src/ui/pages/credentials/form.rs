//! The credential form's fields, shared by the create and edit pop-ups and
//! by the stand-alone pages.

use crate::error::AppError;
use crate::model::{format_date, CredentialFormData, CredentialRole, CredentialSummary, Role, RoleGroup};
use crate::ui::components::{revoked_tooltip, use_hydrated};
use leptos::prelude::*;

/// Values a credential form starts with.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FormValues {
    pub name: String,
    pub expires_on: String,
    pub roles: Vec<Role>,
    /// Roles on the credential that the owner no longer holds (greyed out).
    pub revoked: Vec<CredentialRole>,
}

impl FormValues {
    pub fn for_create(data: &CredentialFormData) -> Self {
        FormValues { expires_on: data.default_expiry.clone(), ..Default::default() }
    }

    pub fn for_edit(c: &CredentialSummary) -> Self {
        FormValues {
            name: c.name.clone(),
            expires_on: format_date(c.expires_at),
            roles: c.effective_roles(),
            revoked: c.roles.iter().filter(|r| r.revoked_at.is_some()).cloned().collect(),
        }
    }
}

/// The fields of the create and edit forms: name, expiry with quick picks,
/// and the roles the user holds as two (or three) fieldsets. Errors appear
/// next to their field.
#[component]
pub(super) fn CredentialFields(
    data: CredentialFormData,
    values: FormValues,
    #[prop(into)] error: Signal<Option<AppError>>,
    /// Distinguishes the ids of two forms on one page.
    #[prop(into)]
    prefix: String,
) -> impl IntoView {
    let hydrated = use_hydrated();
    let expires = RwSignal::new(values.expires_on.clone());
    let today_days = crate::model::parse_date(&data.today).unwrap_or(0);
    let max_days = data.max_days;
    let field_error = move |field: &'static str| move || error.get().and_then(|e| e.field_message(field));
    let form_error = move || {
        error.get().filter(|e| !matches!(e, AppError::Invalid { field, .. } if field != "form")).map(|e| e.to_string())
    };
    let name_id = format!("{prefix}-name");
    let exp_id = format!("{prefix}-expires");

    let groups = RoleGroup::ALL
        .into_iter()
        .filter_map(|group| {
            let held: Vec<Role> = data.grantable.iter().copied().filter(|r| r.group() == group).collect();
            let revoked: Vec<CredentialRole> =
                values.revoked.iter().filter(|r| r.role.group() == group).cloned().collect();
            if held.is_empty() && revoked.is_empty() {
                return None;
            }
            let rows = held
                .into_iter()
                .map(|role| {
                    let id = format!("{prefix}-role-{}", role.slug());
                    let checked = values.roles.contains(&role);
                    view! {
                        <div class="checkbox-row">
                            <input type="checkbox" id=id.clone() name="roles[]" value=role.slug() checked=checked />
                            <label for=id>
                                <span class="role-name">{role.label()}</span>
                                <span class="hint">{role.description()}</span>
                            </label>
                        </div>
                    }
                })
                .collect_view();
            let greyed = revoked
                .into_iter()
                .map(|r| {
                    let id = format!("{prefix}-revoked-{}", r.role.slug());
                    let tip = revoked_tooltip(r.revoked_at.unwrap_or(0));
                    let title = tip.clone();
                    view! {
                        <div class="checkbox-row revoked" title=title>
                            <input type="checkbox" id=id.clone() checked=true disabled=true />
                            <label for=id>
                                <span class="role-name chip-revoked-text">{r.role.label()} " (revoked)"</span>
                                <span class="hint">{tip}</span>
                            </label>
                        </div>
                    }
                })
                .collect_view();
            Some(view! {
                <fieldset class="fieldset">
                    <legend>{group.label()}</legend>
                    {rows}
                    {greyed}
                </fieldset>
            })
        })
        .collect_view();

    let picks = move || {
        [30i64, 90, 180, 365]
            .into_iter()
            .filter(move |d| *d <= max_days)
            .map(move |d| {
                view! {
                    <button
                        type="button"
                        class="btn btn-sm"
                        on:click=move |_| expires.set(format_date((today_days + d) * crate::model::SECS_PER_DAY))
                    >
                        {format!("{d} days")}
                    </button>
                }
            })
            .collect_view()
    };

    view! {
        {move || form_error().map(|m| view! { <div class="alert alert-error" role="alert">{m}</div> })}
        <div class="field">
            <label for=name_id.clone()>"Name"</label>
            <input
                id=name_id
                name="name"
                type="text"
                required
                maxlength="100"
                value=values.name
                placeholder="e.g. Billing sync job"
                aria-invalid=move || field_error("name")().is_some().to_string()
            />
            {move || field_error("name")().map(|m| view! { <div class="field-error">{m}</div> })}
        </div>
        <div class="field">
            <label for=exp_id.clone()>"Expiration date"</label>
            <input
                id=exp_id
                name="expires_on"
                type="date"
                required
                min=data.today.clone()
                max=data.max_expiry.clone()
                prop:value=move || expires.get()
                value=values.expires_on
                aria-invalid=move || field_error("expires_on")().is_some().to_string()
            />
            <Show when=move || hydrated.get()>
                <div class="quick-picks" aria-label="Quick picks">{picks()}</div>
            </Show>
            <div class="hint">{format!("At most {} days from today ({}).", data.max_days, data.max_expiry)}</div>
            {move || field_error("expires_on")().map(|m| view! { <div class="field-error">{m}</div> })}
        </div>
        <div class="field">
            <span class="field-label">"Roles"</span>
            <div class="hint">"The credential acts with these of your roles. Choose as few as the integration needs."</div>
            {groups}
            {move || field_error("roles")().map(|m| view! { <div class="field-error">{m}</div> })}
        </div>
    }
}
