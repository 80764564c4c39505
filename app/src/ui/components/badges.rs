//! Status badges.

use crate::model::CredentialStatus;
use leptos::prelude::*;

/// A credential's status.
#[component]
pub fn CredentialStatusBadge(status: CredentialStatus) -> impl IntoView {
    match status {
        CredentialStatus::Deleted => view! { <span class="badge badge-muted">"Deleted"</span> }.into_any(),
        CredentialStatus::Expired => view! { <span class="badge badge-danger">"Expired"</span> }.into_any(),
        CredentialStatus::ExpiresSoon => view! { <span class="badge badge-warning">"Expires soon"</span> }.into_any(),
        CredentialStatus::NoUsableRole => view! {
            <span class="badge badge-muted" title="You no longer hold any of its roles: it cannot obtain tokens.">
                "No usable role"
            </span>
        }
        .into_any(),
        CredentialStatus::Active => view! { <span class="badge badge-success">"Active"</span> }.into_any(),
    }
}

/// Whether a user's account is active.
#[component]
pub fn UserStatusBadge(active: bool) -> impl IntoView {
    if active {
        view! { <span class="badge badge-success">"Active"</span> }.into_any()
    } else {
        view! { <span class="badge badge-muted">"Deactivated"</span> }.into_any()
    }
}
