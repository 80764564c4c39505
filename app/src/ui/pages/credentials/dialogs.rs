//! The pop-ups of the credentials list: create, edit, regenerate, delete,
//! and the secret shown once.

use super::form::{CredentialFields, FormValues};
use super::rights::EffectiveRightsNote;
use crate::api::credentials::{CreateCredential, DeleteCredential, RegenerateSecret, UpdateCredential};
use crate::error::AppError;
use crate::model::{CreatedSecret, CredentialFormData, CredentialSummary, EffectiveRights};
use crate::ui::components::Modal;
use crate::ui::components::SecretPanel;
use leptos::prelude::*;

#[derive(Clone, Debug, PartialEq)]
pub(super) enum Dialog {
    None,
    Create,
    Edit(CredentialSummary, EffectiveRights),
    Regenerate(CredentialSummary),
    Delete(CredentialSummary),
    Secret { secret: CreatedSecret, heading: &'static str },
}

#[component]
pub(super) fn CredentialDialogs(
    dialog: RwSignal<Dialog>,
    form: Resource<Result<CredentialFormData, AppError>>,
    create: ServerAction<CreateCredential>,
    update: ServerAction<UpdateCredential>,
    regenerate: ServerAction<RegenerateSecret>,
    delete: ServerAction<DeleteCredential>,
) -> impl IntoView {
    let close = Callback::new(move |_| dialog.set(Dialog::None));
    let is = move |f: fn(&Dialog) -> bool| Signal::derive(move || f(&dialog.get()));
    let create_error = Signal::derive(move || create.value().get().and_then(|r| r.err()));
    let update_error = Signal::derive(move || update.value().get().and_then(|r| r.err()));
    let regen_error = move || regenerate.value().get().and_then(|r| r.err()).map(|e| e.to_string());
    let delete_error = move || delete.value().get().and_then(|r| r.err()).map(|e| e.to_string());

    view! {
        <Modal open=is(|d| matches!(d, Dialog::Create)) on_close=close label="New credential">
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    form.await.ok().map(|data| {
                        let values = FormValues::for_create(&data);
                        view! {
                            <ActionForm action=create>
                                <div class="modal-head"><h2>"New credential"</h2></div>
                                <div class="modal-body stack">
                                    <CredentialFields data values error=create_error prefix="create" />
                                </div>
                                <div class="modal-actions">
                                    <button type="button" class="btn" on:click=move |_| close.run(())>"Cancel"</button>
                                    <button type="submit" class="btn btn-primary" disabled=move || create.pending().get()>
                                        "Generate key"
                                    </button>
                                </div>
                            </ActionForm>
                        }
                    })
                })}
            </Transition>
        </Modal>
        <Modal open=is(|d| matches!(d, Dialog::Edit(..))) on_close=close label="Edit credential">
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let data = form.await.ok();
                    let Dialog::Edit(c, rights) = dialog.get() else { return None };
                    let data = data?;
                    let values = FormValues::for_edit(&c);
                    Some(view! {
                        <ActionForm action=update>
                            <input type="hidden" name="id" value=c.id.clone() />
                            <div class="modal-head"><h2>"Edit credential"</h2></div>
                            <div class="modal-body stack">
                                <EffectiveRightsNote rights full=true />
                                <CredentialFields data values error=update_error prefix="edit" />
                            </div>
                            <div class="modal-actions">
                                <button type="button" class="btn" on:click=move |_| close.run(())>"Cancel"</button>
                                <button type="submit" class="btn btn-primary" disabled=move || update.pending().get()>
                                    "Save changes"
                                </button>
                            </div>
                        </ActionForm>
                    })
                })}
            </Transition>
        </Modal>
        <Modal open=is(|d| matches!(d, Dialog::Regenerate(_))) on_close=close label="Regenerate secret">
            {move || match dialog.get() {
                Dialog::Regenerate(c) => Some(view! {
                    <ActionForm action=regenerate>
                        <input type="hidden" name="id" value=c.id.clone() />
                        <div class="modal-head"><h2>"Regenerate the secret of " {c.name.clone()} "?"</h2></div>
                        <div class="modal-body stack">
                            <p>"The current secret and every token issued with it stop working immediately. "
                               "The client ID, name, roles and expiry stay the same."</p>
                            {regen_error().map(|m| view! { <div class="alert alert-error" role="alert">{m}</div> })}
                        </div>
                        <div class="modal-actions">
                            <button type="button" class="btn" autofocus on:click=move |_| close.run(())>"Cancel"</button>
                            <button type="submit" class="btn btn-danger">"Regenerate secret"</button>
                        </div>
                    </ActionForm>
                }),
                _ => None,
            }}
        </Modal>
        <Modal open=is(|d| matches!(d, Dialog::Delete(_))) on_close=close label="Delete credential">
            {move || match dialog.get() {
                Dialog::Delete(c) => Some(view! {
                    <ActionForm action=delete>
                        <input type="hidden" name="id" value=c.id.clone() />
                        <div class="modal-head"><h2>"Delete " {c.name.clone()} "?"</h2></div>
                        <div class="modal-body stack">
                            <p>"The credential can no longer obtain tokens, and every token it holds stops working "
                               "immediately. Its audit trail is kept. This cannot be undone."</p>
                            {delete_error().map(|m| view! { <div class="alert alert-error" role="alert">{m}</div> })}
                        </div>
                        <div class="modal-actions">
                            <button type="button" class="btn" autofocus on:click=move |_| close.run(())>"Cancel"</button>
                            <button type="submit" class="btn btn-danger">"Delete credential"</button>
                        </div>
                    </ActionForm>
                }),
                _ => None,
            }}
        </Modal>
        <Modal open=is(|d| matches!(d, Dialog::Secret { .. })) on_close=close label="Credential secret">
            {move || match dialog.get() {
                Dialog::Secret { secret, heading } => Some(view! {
                    <div class="modal-body">
                        <SecretPanel secret heading kind="Credential" />
                    </div>
                    <div class="modal-actions">
                        <button type="button" class="btn btn-primary" on:click=move |_| close.run(())>"Done"</button>
                    </div>
                }),
                _ => None,
            }}
        </Modal>
    }
}
