//! Stand-alone pages for each protected API action: what the list's links
//! lead to without JavaScript. Plain forms post to the same path and the
//! server (`server/src/nojs.rs`) answers with the next page: the secret,
//! shown once, or the form again with its errors and what was typed.

use super::dialogs::{DELETE_WARNING, REGENERATE_WARNING};
use super::fields::ApiFields;
use crate::api::protected_apis::get_protected_api;
use crate::error::AppError;
use crate::model::{CreatedSecret, ProtectedApiSummary};
use crate::ui::components::SecretPanel;
use leptos::either::{Either, EitherOf3};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

const LIST: &str = "/protected-apis";

/// What the server's form handler hands to the page it renders after a
/// plain form post. Such pages are sent without the hydration scripts.
#[derive(Clone, Debug)]
pub enum ProtectedApiOutcome {
    Secret { secret: CreatedSecret, heading: &'static str },
    FormError { name: String, audience: String, error: AppError },
    Error(AppError),
}

fn outcome() -> Option<ProtectedApiOutcome> {
    use_context::<ProtectedApiOutcome>()
}

fn api_id() -> String {
    use_params_map().read_untracked().get("id").unwrap_or_default()
}

#[component]
fn SecretResult(secret: CreatedSecret, heading: &'static str) -> impl IntoView {
    view! {
        <div class="card narrow">
            <SecretPanel secret heading kind="Protected API" />
            <div class="modal-actions">
                <a class="btn btn-primary" href=LIST>"Done"</a>
            </div>
        </div>
    }
}

#[component]
fn Refused(error: AppError) -> impl IntoView {
    view! {
        <div class="card narrow">
            <div class="alert alert-error" role="alert">{error.to_string()}</div>
            <a class="btn" href=LIST>"Back to protected APIs"</a>
        </div>
    }
}

#[component]
fn ApiFormPage(
    title: &'static str,
    action: String,
    submit: &'static str,
    name: String,
    audience: String,
    error: Option<AppError>,
) -> impl IntoView {
    view! {
        <div class="card narrow">
            <form method="post" action=action class="stack">
                <div class="modal-head"><h1>{title}</h1></div>
                <ApiFields name audience error=Signal::stored(error) prefix="page" />
                <div class="modal-actions">
                    <a class="btn" href=LIST>"Cancel"</a>
                    <button type="submit" class="btn btn-primary">{submit}</button>
                </div>
            </form>
        </div>
    }
}

#[component]
pub fn NewProtectedApiPage() -> impl IntoView {
    // Loaded only to refuse non-Administrators before they fill the form.
    let allowed = Resource::new_blocking(|| (), |_| crate::api::protected_apis::list_protected_apis());
    view! {
        <Title text="New protected API" />
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let allowed = allowed.await;
                match (outcome(), allowed) {
                    (Some(ProtectedApiOutcome::Secret { secret, heading }), _) => {
                        EitherOf3::A(view! { <SecretResult secret heading /> })
                    }
                    (Some(ProtectedApiOutcome::Error(e)), _) | (_, Err(e)) => {
                        EitherOf3::B(view! { <Refused error=e /> })
                    }
                    (other, Ok(_)) => {
                        let (name, audience, error) = match other {
                            Some(ProtectedApiOutcome::FormError { name, audience, error }) => (name, audience, Some(error)),
                            _ => (String::new(), String::new(), None),
                        };
                        EitherOf3::C(view! {
                            <ApiFormPage
                                title="New protected API"
                                action=format!("{LIST}/new")
                                submit="Create protected API"
                                name
                                audience
                                error
                            />
                        })
                    }
                }
            })}
        </Suspense>
    }
}

#[component]
pub fn EditProtectedApiPage() -> impl IntoView {
    let id = api_id();
    let api = Resource::new_blocking(move || id.clone(), get_protected_api);
    view! {
        <Title text="Edit protected API" />
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match api.await {
                    Ok(a) => {
                        let (name, audience, error) = match outcome() {
                            Some(ProtectedApiOutcome::FormError { name, audience, error }) => (name, audience, Some(error)),
                            Some(ProtectedApiOutcome::Error(e)) => (a.name.clone(), a.audience.clone(), Some(e)),
                            _ => (a.name.clone(), a.audience.clone(), None),
                        };
                        Either::Left(view! {
                            <ApiFormPage
                                title="Edit protected API"
                                action=format!("{LIST}/{}/edit", a.id)
                                submit="Save changes"
                                name
                                audience
                                error
                            />
                        })
                    }
                    Err(e) => Either::Right(view! { <Refused error=e /> }),
                }
            })}
        </Suspense>
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Confirm {
    Regenerate,
    Delete,
}

#[component]
fn ConfirmPage(kind: Confirm) -> impl IntoView {
    let id = api_id();
    let api = Resource::new_blocking(move || id.clone(), get_protected_api);
    let title = match kind {
        Confirm::Regenerate => "Regenerate secret",
        Confirm::Delete => "Delete protected API",
    };
    view! {
        <Title text=title />
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let a: ProtectedApiSummary = match (outcome(), api.await) {
                    (Some(ProtectedApiOutcome::Secret { secret, heading }), _) => {
                        return EitherOf3::A(view! { <SecretResult secret heading /> });
                    }
                    (_, Err(e)) | (Some(ProtectedApiOutcome::Error(e)), _) => {
                        return EitherOf3::B(view! { <Refused error=e /> });
                    }
                    (_, Ok(a)) => a,
                };
                let (verb, what, button, heading) = match kind {
                    Confirm::Regenerate => (
                        "regenerate",
                        REGENERATE_WARNING,
                        "Regenerate secret",
                        format!("Regenerate the secret of {}?", a.name),
                    ),
                    Confirm::Delete => ("delete", DELETE_WARNING, "Delete protected API", format!("Delete {}?", a.name)),
                };
                EitherOf3::C(view! {
                    <div class="card narrow">
                        <form method="post" action=format!("{LIST}/{}/{verb}", a.id) class="stack">
                            <div class="modal-head"><h1>{heading}</h1></div>
                            <p>{what}</p>
                            <div class="modal-actions">
                                <a class="btn" href=LIST autofocus>"Cancel"</a>
                                <button type="submit" class="btn btn-danger">{button}</button>
                            </div>
                        </form>
                    </div>
                })
            })}
        </Suspense>
    }
}

#[component]
pub fn RegenerateProtectedApiPage() -> impl IntoView {
    view! { <ConfirmPage kind=Confirm::Regenerate /> }
}

#[component]
pub fn DeleteProtectedApiPage() -> impl IntoView {
    view! { <ConfirmPage kind=Confirm::Delete /> }
}
