//! A new client secret, shown once.

use crate::model::CreatedSecret;
use crate::ui::components::SecretField;
use leptos::prelude::*;

/// The client id and secret, shown once, with copy buttons and the warning.
#[component]
pub(super) fn SecretPanel(secret: CreatedSecret, #[prop(into)] heading: String) -> impl IntoView {
    let CreatedSecret { client_id, name, secret } = secret;
    view! {
        <div class="stack secret-panel">
            <h2 class="success-heading">{heading}</h2>
            <p class="muted">"Credential: " <strong>{name}</strong></p>
            <SecretField id="created-client-id" label="Client ID" value=client_id copy_label="client ID" />
            <SecretField id="created-secret" label="Client secret" value=secret copy_label="client secret" />
            <div class="warning-callout" role="alert">
                <strong>"Copy the secret now. "</strong>
                "You will not be able to see it again. If you lose it, regenerate the secret."
            </div>
        </div>
    }
}
