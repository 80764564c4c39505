//! The list of protected APIs, with create, edit, regenerate and delete in
//! pop-ups. The links lead to the stand-alone pages (`pages`) without
//! JavaScript; with it they open the pop-ups.

use super::dialogs::{ApiDialogs, Dialog};
use crate::api::protected_apis::{
    list_protected_apis, CreateProtectedApi, DeleteProtectedApi, RegenerateProtectedApiSecret, UpdateProtectedApi,
};
use crate::model::{format_date, CurrentUser, ProtectedApiSummary, Role};
use crate::ui::components::{use_hydrated, CopyButton, PageHead};
use leptos::either::Either;
use leptos::ev::MouseEvent;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn ProtectedApisPage() -> impl IntoView {
    let create = ServerAction::<CreateProtectedApi>::new();
    let update = ServerAction::<UpdateProtectedApi>::new();
    let regenerate = ServerAction::<RegenerateProtectedApiSecret>::new();
    let delete = ServerAction::<DeleteProtectedApi>::new();
    let dialog = RwSignal::new(Dialog::None);

    let list = Resource::new(
        move || (create.version().get(), update.version().get(), delete.version().get()),
        |_| list_protected_apis(),
    );

    // A created or regenerated secret moves from the action into the
    // dialog's signal, and the action forgets it.
    Effect::new(move |_| {
        if let Some(Ok(secret)) = create.value().get() {
            create.value().set(None);
            dialog.set(Dialog::Secret { secret, heading: "Protected API created" });
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(secret)) = regenerate.value().get() {
            regenerate.value().set(None);
            dialog.set(Dialog::Secret { secret, heading: "New secret generated" });
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(())) = update.value().get() {
            update.value().set(None);
            dialog.set(Dialog::None);
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(())) = delete.value().get() {
            delete.value().set(None);
            dialog.set(Dialog::None);
        }
    });
    let open_create = move |ev: MouseEvent| {
        ev.prevent_default();
        create.value().set(None);
        dialog.set(Dialog::Create);
    };
    // Others get the refusal below, without an action they may not take.
    let administrator = use_context::<CurrentUser>().is_some_and(|u| u.has(Role::Administrator));
    let reset = Callback::new(move |_| {
        update.value().set(None);
        regenerate.value().set(None);
        delete.value().set(None);
    });

    view! {
        <Title text="Protected APIs" />
        <PageHead
            title="Protected APIs"
            description="The APIs that check appcred's tokens: each introspects them with its own secret, and clients name its audience to get tokens bound to it."
        >
            {administrator.then(|| view! {
                <a class="btn btn-primary" href="/protected-apis/new" on:click=open_create>"+ New protected API"</a>
            })}
        </PageHead>
        <Transition fallback=|| view! { <div class="page-loading">"Loading…"</div> }>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(items) => Either::Left(view! { <ApiTable items dialog reset /> }),
                    Err(e) => Either::Right(view! { <div class="alert alert-error" role="alert">{e.to_string()}</div> }),
                }
            })}
        </Transition>
        <ApiDialogs dialog create update regenerate delete />
    }
}

#[component]
fn ApiTable(items: Vec<ProtectedApiSummary>, dialog: RwSignal<Dialog>, reset: Callback<()>) -> impl IntoView {
    if items.is_empty() {
        return Either::Left(view! {
            <div class="empty-state">
                <h3>"No protected APIs yet"</h3>
                <p class="muted">
                    "A protected API is a resource server that accepts appcred's bearer tokens. Register it with "
                    "the URI clients name as resource (its audience): it gets a client ID and secret to introspect "
                    "tokens with (RFC 7662), and tokens requested for its audience work only there."
                </p>
                <a class="btn btn-primary" href="/protected-apis/new">"+ New protected API"</a>
            </div>
        });
    }
    let count = items.len();
    let rows = items.into_iter().map(|a| view! { <ApiRow a dialog reset /> }).collect_view();
    Either::Right(view! {
        <div class="table-wrap">
            <table class="data">
                <thead>
                    <tr>
                        <th scope="col">"Name"</th>
                        <th scope="col">"Audience"</th>
                        <th scope="col">"Client ID"</th>
                        <th scope="col">"Created"</th>
                        <th scope="col" class="actions"><span class="sr-only">"Actions"</span></th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
        <div class="table-footer">
            <span class="muted">{format!("{count} protected API{}", if count == 1 { "" } else { "s" })}</span>
        </div>
    })
}

#[component]
fn ApiRow(a: ProtectedApiSummary, dialog: RwSignal<Dialog>, reset: Callback<()>) -> impl IntoView {
    let hydrated = use_hydrated();
    let id = a.id.clone();
    let short_id = format!("{}…", &id[..8.min(id.len())]);
    let open = move |d: Dialog| {
        move |ev: MouseEvent| {
            ev.prevent_default();
            reset.run(());
            dialog.set(d.clone());
        }
    };
    let (e, r, d) = (Dialog::Edit(a.clone()), Dialog::Regenerate(a.clone()), Dialog::Delete(a.clone()));
    let id_for_copy = id.clone();
    view! {
        <tr>
            <td class="name">
                <span class="truncate" title=a.name.clone()>{a.name.clone()}</span>
            </td>
            <td class="mono">
                <span class="truncate" title=a.audience.clone()>{a.audience.clone()}</span>
            </td>
            <td class="mono">
                <span class="row">
                    <span title=id.clone()>{short_id}</span>
                    <Show when=move || hydrated.get()>
                        <CopyButton text=id_for_copy.clone() label="client ID" compact=true />
                    </Show>
                </span>
            </td>
            <td title=format!("Secret last set {}", format_date(a.secret_rotated_at))>{format_date(a.created_at)}</td>
            <td class="actions">
                <a class="btn btn-sm" href=format!("/protected-apis/{id}/edit") on:click=open(e)>"Edit"</a>
                " "
                <a
                    class="btn btn-sm"
                    href=format!("/protected-apis/{id}/regenerate")
                    aria-label="Regenerate secret"
                    title="Regenerate secret"
                    on:click=open(r)
                >
                    "Regenerate"
                </a>
                " "
                <a class="btn btn-sm btn-danger" href=format!("/protected-apis/{id}/delete") on:click=open(d)>"Delete"</a>
            </td>
        </tr>
    }
}
