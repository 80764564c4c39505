//! The pop-ups of the protected APIs list: create, edit, regenerate,
//! delete, and the secret shown once.

use super::fields::ApiFields;
use crate::api::protected_apis::{
    CreateProtectedApi, DeleteProtectedApi, RegenerateProtectedApiSecret, UpdateProtectedApi,
};
use crate::model::{CreatedSecret, ProtectedApiSummary};
use crate::ui::components::Modal;
use crate::ui::components::SecretPanel;
use leptos::prelude::*;

/// What the regenerate confirmation says, here and on its page.
pub(super) const REGENERATE_WARNING: &str = "The current secret stops working immediately: the API can no longer \
     introspect tokens with it until you give it the new one. The client ID, name and audience stay the same.";
/// What the delete confirmation says, here and on its page.
pub(super) const DELETE_WARNING: &str = "Its secret stops working, and every token bound to its audience ends \
     immediately. Its audit trail is kept. This cannot be undone.";

#[derive(Clone, Debug, PartialEq)]
pub(super) enum Dialog {
    None,
    Create,
    Edit(ProtectedApiSummary),
    Regenerate(ProtectedApiSummary),
    Delete(ProtectedApiSummary),
    Secret { secret: CreatedSecret, heading: &'static str },
}

#[component]
pub(super) fn ApiDialogs(
    dialog: RwSignal<Dialog>,
    create: ServerAction<CreateProtectedApi>,
    update: ServerAction<UpdateProtectedApi>,
    regenerate: ServerAction<RegenerateProtectedApiSecret>,
    delete: ServerAction<DeleteProtectedApi>,
) -> impl IntoView {
    let close = Callback::new(move |_| dialog.set(Dialog::None));
    let is = move |f: fn(&Dialog) -> bool| Signal::derive(move || f(&dialog.get()));
    let create_error = Signal::derive(move || create.value().get().and_then(|r| r.err()));
    let update_error = Signal::derive(move || update.value().get().and_then(|r| r.err()));
    let regen_error = move || regenerate.value().get().and_then(|r| r.err()).map(|e| e.to_string());
    let delete_error = move || delete.value().get().and_then(|r| r.err()).map(|e| e.to_string());

    view! {
        <Modal open=is(|d| matches!(d, Dialog::Create)) on_close=close label="New protected API">
            <ActionForm action=create>
                <div class="modal-head"><h2>"New protected API"</h2></div>
                <div class="modal-body stack">
                    <ApiFields name=String::new() audience=String::new() error=create_error prefix="create" />
                </div>
                <div class="modal-actions">
                    <button type="button" class="btn" on:click=move |_| close.run(())>"Cancel"</button>
                    <button type="submit" class="btn btn-primary" disabled=move || create.pending().get()>
                        "Create protected API"
                    </button>
                </div>
            </ActionForm>
        </Modal>
        <Modal open=is(|d| matches!(d, Dialog::Edit(_))) on_close=close label="Edit protected API">
            {move || match dialog.get() {
                Dialog::Edit(a) => Some(view! {
                    <ActionForm action=update>
                        <input type="hidden" name="id" value=a.id.clone() />
                        <div class="modal-head"><h2>"Edit protected API"</h2></div>
                        <div class="modal-body stack">
                            <ApiFields name=a.name.clone() audience=a.audience.clone() error=update_error prefix="edit" />
                            <p class="hint">"Changing the audience ends the tokens bound to the old one."</p>
                        </div>
                        <div class="modal-actions">
                            <button type="button" class="btn" on:click=move |_| close.run(())>"Cancel"</button>
                            <button type="submit" class="btn btn-primary" disabled=move || update.pending().get()>
                                "Save changes"
                            </button>
                        </div>
                    </ActionForm>
                }),
                _ => None,
            }}
        </Modal>
        <Modal open=is(|d| matches!(d, Dialog::Regenerate(_))) on_close=close label="Regenerate secret">
            {move || match dialog.get() {
                Dialog::Regenerate(a) => Some(view! {
                    <ActionForm action=regenerate>
                        <input type="hidden" name="id" value=a.id.clone() />
                        <div class="modal-head"><h2>"Regenerate the secret of " {a.name.clone()} "?"</h2></div>
                        <div class="modal-body stack">
                            <p>{REGENERATE_WARNING}</p>
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
        <Modal open=is(|d| matches!(d, Dialog::Delete(_))) on_close=close label="Delete protected API">
            {move || match dialog.get() {
                Dialog::Delete(a) => Some(view! {
                    <ActionForm action=delete>
                        <input type="hidden" name="id" value=a.id.clone() />
                        <div class="modal-head"><h2>"Delete " {a.name.clone()} "?"</h2></div>
                        <div class="modal-body stack">
                            <p>{DELETE_WARNING}</p>
                            {delete_error().map(|m| view! { <div class="alert alert-error" role="alert">{m}</div> })}
                        </div>
                        <div class="modal-actions">
                            <button type="button" class="btn" autofocus on:click=move |_| close.run(())>"Cancel"</button>
                            <button type="submit" class="btn btn-danger">"Delete protected API"</button>
                        </div>
                    </ActionForm>
                }),
                _ => None,
            }}
        </Modal>
        <Modal open=is(|d| matches!(d, Dialog::Secret { .. })) on_close=close label="Protected API secret">
            {move || match dialog.get() {
                Dialog::Secret { secret, heading } => Some(view! {
                    <div class="modal-body">
                        <SecretPanel secret heading kind="Protected API" />
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
