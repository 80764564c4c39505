//! General Settings, for Administrators: token timeouts, the maximum
//! credential lifetime, the API switch and the web session timeouts.

use crate::api::settings::{get_settings, UpdateSettings};
use crate::error::AppError;
use crate::model::{format_date, RoleChangeRule, SettingsView};
use crate::ui::components::PageHead;
use leptos::either::Either;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn SettingsPage() -> impl IntoView {
    let update = ServerAction::<UpdateSettings>::new();
    // Loaded once: after a save the form keeps what was typed (a refused
    // value stays in its field, next to its error).
    let current = Resource::new(|| (), |_| get_settings());
    view! {
        <Title text="General Settings" />
        <PageHead
            title="General Settings"
            description="Apply to every credential, token and session, on every instance, from the next request."
        />
        <Transition fallback=|| view! { <div class="page-loading">"Loading…"</div> }>
            {move || Suspend::new(async move {
                match current.await {
                    Ok(s) => Either::Left(view! { <SettingsForm s update /> }),
                    Err(e) => Either::Right(view! { <div class="alert alert-error" role="alert">{e.to_string()}</div> }),
                }
            })}
        </Transition>
    }
}

#[component]
fn SettingsForm(s: SettingsView, update: ServerAction<UpdateSettings>) -> impl IntoView {
    let error = Signal::derive(move || update.value().get().and_then(|r| r.err()));
    let saved = move || update.value().get().and_then(|r| r.ok());
    let other_error = move || error.get().filter(|e| !matches!(e, AppError::Invalid { .. })).map(|e| e.to_string());
    let last_saved = move || saved().map(|v| v.updated_at).unwrap_or(s.updated_at);
    view! {
        <ActionForm action=update attr:class="settings-form">
            {move || saved().map(|_| view! {
                <div class="alert alert-success" role="status">"Settings saved. They apply from the next request."</div>
            })}
            {move || other_error().map(|m| view! { <div class="alert alert-error" role="alert">{m}</div> })}
            <section class="card" aria-labelledby="api-heading">
                <div class="card-head"><h2 id="api-heading">"API access"</h2></div>
                <div class="checkbox-row">
                    <input type="checkbox" id="api_enabled" name="api_enabled" value="true" checked=s.api_enabled />
                    <label for="api_enabled">
                        <span class="role-name">"Allow token requests and API calls"</span>
                        <span class="hint">
                            "When off, the token endpoint and every API call are refused for every credential, "
                            "and users see a notice on their credentials page."
                        </span>
                    </label>
                </div>
            </section>
            <section class="card" aria-labelledby="tokens-heading">
                <div class="card-head"><h2 id="tokens-heading">"Bearer tokens"</h2></div>
                <div class="settings-grid">
                    <NumberField
                        name="token_idle_minutes"
                        label="Idle timeout"
                        unit="minutes"
                        value=s.token_idle_minutes
                        bounds=crate::model::settings_bounds::TOKEN_IDLE_MINUTES
                        hint="A token unused for this long stops working. Default 20."
                        error
                    />
                    <NumberField
                        name="token_lifetime_secs"
                        label="Absolute lifetime"
                        unit="seconds"
                        value=s.token_lifetime_secs
                        bounds=crate::model::settings_bounds::TOKEN_LIFETIME_SECS
                        hint="A token stops working this long after it was issued, however often it is used. Default 3600."
                        error
                    />
                </div>
            </section>
            <section class="card" aria-labelledby="role-change-heading">
                <div class="card-head"><h2 id="role-change-heading">"When a user's roles change"</h2></div>
                <fieldset class="radio-group" aria-describedby="role-change-hint">
                    <legend class="visually-hidden">"When a user's roles change"</legend>
                    {RoleChangeRule::ALL.into_iter().map(|rule| {
                        let id = format!("role_change_ends-{}", rule.as_str());
                        view! {
                            <div class="checkbox-row">
                                <input
                                    type="radio"
                                    id=id.clone()
                                    name="role_change_ends"
                                    value=rule.as_str()
                                    checked=s.role_change_rule == rule
                                />
                                <label for=id><span class="role-name">{rule.label()}</span></label>
                            </div>
                        }
                    }).collect_view()}
                    <div class="hint" id="role-change-hint">
                        "A user's access tokens carry their roles. The default, as Enate does, ends every token of "
                        "the user when one of their roles is granted or removed, so integrations pick up the change "
                        "with their next token. Either way a removed role can never be used again by any token."
                    </div>
                    {move || error.get().and_then(|e| e.field_message("role_change_ends")).map(|m| view! { <div class="field-error">{m}</div> })}
                </fieldset>
            </section>
            <section class="card" aria-labelledby="credentials-heading">
                <div class="card-head"><h2 id="credentials-heading">"Application credentials"</h2></div>
                <div class="settings-grid">
                    <NumberField
                        name="max_credential_days"
                        label="Maximum lifetime"
                        unit="days"
                        value=s.max_credential_days
                        bounds=crate::model::settings_bounds::MAX_CREDENTIAL_DAYS
                        hint="The latest expiry date a new or edited credential may have. Existing expiry dates are kept. Default 365."
                        error
                    />
                </div>
            </section>
            <section class="card" aria-labelledby="sessions-heading">
                <div class="card-head"><h2 id="sessions-heading">"Web sessions"</h2></div>
                <div class="settings-grid">
                    <NumberField
                        name="session_idle_minutes"
                        label="Idle timeout"
                        unit="minutes"
                        value=s.session_idle_minutes
                        bounds=crate::model::settings_bounds::SESSION_IDLE_MINUTES
                        hint="Signed-in users who do nothing for this long must sign in again. Default 30."
                        error
                    />
                    <NumberField
                        name="session_absolute_hours"
                        label="Absolute lifetime"
                        unit="hours"
                        value=s.session_absolute_hours
                        bounds=crate::model::settings_bounds::SESSION_ABSOLUTE_HOURS
                        hint="Everyone signs in again after this long, active or not. Default 12."
                        error
                    />
                </div>
            </section>
            <div class="form-actions">
                <span class="muted">
                    {move || match last_saved() {
                        0 => "Never changed: these are the defaults.".to_string(),
                        t => format!("Last changed {}.", format_date(t)),
                    }}
                </span>
                <button type="submit" class="btn btn-primary" disabled=move || update.pending().get()>"Save settings"</button>
            </div>
        </ActionForm>
    }
}

#[component]
fn NumberField(
    name: &'static str,
    label: &'static str,
    unit: &'static str,
    value: i64,
    bounds: (i64, i64),
    hint: &'static str,
    error: Signal<Option<AppError>>,
) -> impl IntoView {
    let message = move || error.get().and_then(|e| e.field_message(name));
    let hint_id = format!("{name}-hint");
    view! {
        <div class="field">
            <label for=name>{label} <span class="muted">{format!(" ({unit})")}</span></label>
            <input
                id=name
                name=name
                type="number"
                inputmode="numeric"
                required
                min=bounds.0
                max=bounds.1
                step="1"
                value=value
                aria-describedby=hint_id.clone()
                aria-invalid=move || message().is_some().to_string()
            />
            <div class="hint" id=hint_id>{hint} {format!(" Allowed: {} to {}.", bounds.0, bounds.1)}</div>
            {move || message().map(|m| view! { <div class="field-error">{m}</div> })}
        </div>
    }
}
