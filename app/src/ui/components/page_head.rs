//! The head of every page.

use leptos::prelude::*;

/// The head of a page: title, one sentence on what it is for, and the
/// primary action on the right.
#[component]
pub fn PageHead(
    title: &'static str,
    description: &'static str,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    view! {
        <div class="page-head">
            <div>
                <h1>{title}</h1>
                <p class="muted">{description}</p>
            </div>
            <div class="page-actions">{children.map(|c| c())}</div>
        </div>
    }
}
