//! The protected API form's fields, shared by the pop-ups and the
//! stand-alone pages. (Its secret, shown once, is the shared
//! `components::SecretPanel`.)

use crate::error::AppError;
use leptos::prelude::*;

/// Name and audience, with their errors next to them.
#[component]
pub(super) fn ApiFields(
    name: String,
    audience: String,
    #[prop(into)] error: Signal<Option<AppError>>,
    /// Distinguishes the ids of two forms on one page.
    #[prop(into)]
    prefix: String,
) -> impl IntoView {
    let field_error = move |field: &'static str| move || error.get().and_then(|e| e.field_message(field));
    let form_error = move || {
        error.get().filter(|e| !matches!(e, AppError::Invalid { field, .. } if field != "form")).map(|e| e.to_string())
    };
    let name_id = format!("{prefix}-name");
    let aud_id = format!("{prefix}-audience");
    let aud_hint = format!("{prefix}-audience-hint");
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
                value=name
                placeholder="e.g. Orders API"
                aria-invalid=move || field_error("name")().is_some().to_string()
            />
            {move || field_error("name")().map(|m| view! { <div class="field-error">{m}</div> })}
        </div>
        <div class="field">
            <label for=aud_id.clone()>"Audience"</label>
            <input
                id=aud_id
                name="audience"
                type="text"
                inputmode="url"
                required
                maxlength="512"
                class="mono"
                value=audience
                placeholder="https://api.example.com"
                aria-describedby=aud_hint.clone()
                aria-invalid=move || field_error("audience")().is_some().to_string()
            />
            <div class="hint" id=aud_hint>
                "The absolute URI clients name as resource when they ask for a token: https, or http on localhost."
            </div>
            {move || field_error("audience")().map(|m| view! { <div class="field-error">{m}</div> })}
        </div>
    }
}
