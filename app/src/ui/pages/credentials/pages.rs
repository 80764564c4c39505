//! Stand-alone pages for each credential action. They are what the list's
//! links lead to without JavaScript: plain forms posting to the same path,
//! answered by the server with the next page (the secret, shown once, or
//! the form again with its errors and the values typed so far).

use super::form::{CredentialFields, FormValues};
use crate::api::credentials::{credential_form, get_credential};
use crate::error::AppError;
use crate::model::{CreatedSecret, CredentialFormData, CredentialSummary};
use crate::ui::components::SecretPanel;
use leptos::either::{Either, EitherOf3};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

/// What the server's form handler hands to the page it renders after a
/// plain form post. Such pages are sent without the hydration scripts.
#[derive(Clone, Debug)]
pub enum NoJsOutcome {
    Secret { secret: CreatedSecret, heading: &'static str },
    FormError { values: FormValues, error: AppError },
    Error(AppError),
}

fn outcome() -> Option<NoJsOutcome> {
    use_context::<NoJsOutcome>()
}

#[component]
fn Back() -> impl IntoView {
    view! { <a class="btn" href="/">"Back to credentials"</a> }
}

#[component]
fn SecretResult(secret: CreatedSecret, heading: &'static str) -> impl IntoView {
    view! {
        <div class="card narrow">
            <SecretPanel secret heading kind="Credential" />
            <div class="modal-actions">
                <a class="btn btn-primary" href="/">"Done"</a>
            </div>
        </div>
    }
}

#[component]
pub fn NewCredentialPage() -> impl IntoView {
    let form = Resource::new_blocking(|| (), |_| credential_form());
    view! {
        <Title text="New credential" />
        {move || match outcome() {
            Some(NoJsOutcome::Secret { secret, heading }) => {
                Either::Left(view! { <SecretResult secret heading /> })
            }
            other => Either::Right(view! {
                <Suspense fallback=|| ()>
                    {
                        let other = other.clone();
                        move || {
                            let other = other.clone();
                            Suspend::new(async move {
                                let data = form.await;
                                let (values, error) = match other {
                                    Some(NoJsOutcome::FormError { values, error }) => (Some(values), Some(error)),
                                    Some(NoJsOutcome::Error(e)) => (None, Some(e)),
                                    _ => (None, None),
                                };
                                data.map(|data| {
                                    let values = values.unwrap_or_else(|| FormValues::for_create(&data));
                                    view! { <CredentialFormPage title="New credential" action="/credentials/new".to_string() submit="Generate key" data values error /> }
                                })
                            })
                        }
                    }
                </Suspense>
            }),
        }}
    }
}

#[component]
fn CredentialFormPage(
    title: &'static str,
    action: String,
    submit: &'static str,
    data: CredentialFormData,
    values: FormValues,
    error: Option<AppError>,
) -> impl IntoView {
    view! {
        <div class="card narrow">
            <form method="post" action=action class="stack">
                <div class="modal-head"><h1>{title}</h1></div>
                <CredentialFields data values error=Signal::stored(error) prefix="page" />
                <div class="modal-actions">
                    <a class="btn" href="/">"Cancel"</a>
                    <button type="submit" class="btn btn-primary">{submit}</button>
                </div>
            </form>
        </div>
    }
}

fn credential_id() -> String {
    use_params_map().read_untracked().get("id").unwrap_or_default()
}

#[component]
pub fn EditCredentialPage() -> impl IntoView {
    let id = credential_id();
    let data = Resource::new_blocking(
        move || id.clone(),
        |id| async move { Ok::<_, AppError>((get_credential(id).await?, credential_form().await?)) },
    );
    view! {
        <Title text="Edit credential" />
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                match data.await {
                    Ok((c, form)) => {
                        let (values, error) = match outcome() {
                            Some(NoJsOutcome::FormError { mut values, error }) => {
                                values.revoked = FormValues::for_edit(&c).revoked;
                                (values, Some(error))
                            }
                            _ => (FormValues::for_edit(&c), None),
                        };
                        let action = format!("/credentials/{}/edit", c.id);
                        Either::Left(view! {
                            <CredentialFormPage title="Edit credential" action submit="Save changes" data=form values error />
                        })
                    }
                    Err(e) => Either::Right(view! { <NotYours error=e /> }),
                }
            })}
        </Suspense>
    }
}

#[component]
fn NotYours(error: AppError) -> impl IntoView {
    view! {
        <div class="card narrow">
            <div class="alert alert-error" role="alert">{error.to_string()}</div>
            <Back />
        </div>
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Confirm {
    Regenerate,
    Delete,
}

#[component]
fn ConfirmPage(kind: Confirm) -> impl IntoView {
    let id = credential_id();
    let credential = Resource::new_blocking(move || id.clone(), get_credential);
    let title = match kind {
        Confirm::Regenerate => "Regenerate secret",
        Confirm::Delete => "Delete credential",
    };
    view! {
        <Title text=title />
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let c: CredentialSummary = match (outcome(), credential.await) {
                    (Some(NoJsOutcome::Secret { secret, heading }), _) => {
                        return EitherOf3::A(view! { <SecretResult secret heading /> });
                    }
                    (_, Err(e)) | (Some(NoJsOutcome::Error(e)), _) => {
                        return EitherOf3::B(view! { <NotYours error=e /> });
                    }
                    (_, Ok(c)) => c,
                };
                let (verb, what, button) = match kind {
                    Confirm::Regenerate => (
                        "regenerate",
                        "The current secret and every token issued with it stop working immediately. The client ID, name, roles and expiry stay the same.",
                        "Regenerate secret",
                    ),
                    Confirm::Delete => (
                        "delete",
                        "The credential can no longer obtain tokens, and every token it holds stops working immediately. Its audit trail is kept. This cannot be undone.",
                        "Delete credential",
                    ),
                };
                let heading = match kind {
                    Confirm::Regenerate => format!("Regenerate the secret of {}?", c.name),
                    Confirm::Delete => format!("Delete {}?", c.name),
                };
                EitherOf3::C(view! {
                    <div class="card narrow">
                        <form method="post" action=format!("/credentials/{}/{verb}", c.id) class="stack">
                            <div class="modal-head"><h1>{heading}</h1></div>
                            <p>{what}</p>
                            <div class="modal-actions">
                                <a class="btn" href="/" autofocus>"Cancel"</a>
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
pub fn RegenerateCredentialPage() -> impl IntoView {
    view! { <ConfirmPage kind=Confirm::Regenerate /> }
}

#[component]
pub fn DeleteCredentialPage() -> impl IntoView {
    view! { <ConfirmPage kind=Confirm::Delete /> }
}
