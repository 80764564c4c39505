//! Copying a value to the clipboard.

use super::use_hydrated;
use leptos::prelude::*;

/// Copies `text` to the clipboard and says so.
/// With `compact`, the button shows an icon (its accessible name still says
/// what it copies), for dense table rows.
#[component]
pub fn CopyButton(text: String, #[prop(into)] label: String, #[prop(optional)] compact: bool) -> impl IntoView {
    let copied = RwSignal::new(false);
    let aria = format!("Copy {label}");
    view! {
        <button
            type="button"
            class=if compact { "btn btn-sm btn-icon" } else { "btn btn-sm" }
            aria-label=aria.clone()
            title=aria
            on:click=move |_| {
                #[cfg(feature = "hydrate")]
                if let Some(window) = web_sys::window() {
                    let _ = window.navigator().clipboard().write_text(&text);
                }
                #[cfg(not(feature = "hydrate"))]
                let _ = &text;
                copied.set(true);
            }
        >
            {move || match (compact, copied.get()) {
                (true, true) => view! {
                    <svg viewBox="0 0 16 16" width="14" height="14" aria-hidden="true">
                        <path d="M3 8.5l3 3 7-7" fill="none" stroke="currentColor" stroke-width="1.8" />
                    </svg>
                }
                .into_any(),
                (true, false) => view! {
                    <svg viewBox="0 0 16 16" width="14" height="14" aria-hidden="true">
                        <rect x="5" y="5" width="9" height="9" rx="1.5" fill="none" stroke="currentColor" stroke-width="1.5" />
                        <path d="M3 11V3.5A1.5 1.5 0 0 1 4.5 2H11" fill="none" stroke="currentColor" stroke-width="1.5" />
                    </svg>
                }
                .into_any(),
                (false, true) => "Copied".into_any(),
                (false, false) => "Copy".into_any(),
            }}
        </button>
    }
}

/// A read-only value with a copy button (the button only once hydrated).
#[component]
pub fn SecretField(id: &'static str, label: &'static str, value: String, copy_label: &'static str) -> impl IntoView {
    let hydrated = use_hydrated();
    let copy = value.clone();
    view! {
        <div class="field">
            <label for=id>{label}</label>
            <div class="secret-box">
                <input id=id class="mono" type="text" readonly value=value autocomplete="off" />
                <Show when=move || hydrated.get()>
                    <CopyButton text=copy.clone() label=copy_label />
                </Show>
            </div>
        </div>
    }
}

/// A new client id and secret, shown once, with copy buttons and the
/// warning: a credential's, or a protected API's (`kind` names which).
#[component]
pub fn SecretPanel(
    secret: crate::model::CreatedSecret,
    #[prop(into)] heading: String,
    kind: &'static str,
) -> impl IntoView {
    let crate::model::CreatedSecret { client_id, name, secret } = secret;
    view! {
        <div class="stack secret-panel">
            <h2 class="success-heading">{heading}</h2>
            <p class="muted">{kind} ": " <strong>{name}</strong></p>
            <SecretField id="created-client-id" label="Client ID" value=client_id copy_label="client ID" />
            <SecretField id="created-secret" label="Client secret" value=secret copy_label="client secret" />
            <div class="warning-callout" role="alert">
                <strong>"Copy the secret now. "</strong>
                "You will not be able to see it again. If you lose it, regenerate the secret."
            </div>
        </div>
    }
}
