//! The Application Credentials page: the signed-in user's own credentials,
//! with create, edit, regenerate and delete in pop-ups. Each action also has
//! a page of its own (`/credentials/...`) that works without JavaScript;
//! the list's links lead there, and with JavaScript they open the pop-ups.

use super::dialogs::{CredentialDialogs, Dialog};
use super::rights::EffectiveRightsNote;
use crate::api::credentials::{
    credential_form, list_credentials, CreateCredential, DeleteCredential, RegenerateSecret, UpdateCredential,
};
use crate::model::{format_date, relative_time, CredentialList, CredentialSummary, Page};
use crate::ui::components::{
    use_hydrated, CopyButton, CredentialRoleChip, CredentialStatusBadge, PageHead, SortHeader, TableFooter,
};
use leptos::either::Either;
use leptos::ev::MouseEvent;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

#[component]
pub fn CredentialsPage() -> impl IntoView {
    let query = use_query_map();
    let create = ServerAction::<CreateCredential>::new();
    let update = ServerAction::<UpdateCredential>::new();
    let regenerate = ServerAction::<RegenerateSecret>::new();
    let delete = ServerAction::<DeleteCredential>::new();
    let dialog = RwSignal::new(Dialog::None);

    let list = Resource::new(
        move || (query.get(), create.version().get(), update.version().get(), delete.version().get()),
        |(q, ..)| list_credentials(q.get("q"), q.get("sort"), q.get("dir"), q.get("page").and_then(|p| p.parse().ok())),
    );
    let form = Resource::new(|| (), |_| credential_form());

    // A created or regenerated secret moves from the action into the
    // dialog's signal, and the action forgets it.
    Effect::new(move |_| {
        if let Some(Ok(secret)) = create.value().get() {
            create.value().set(None);
            dialog.set(Dialog::Secret { secret, heading: "Credential created" });
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
    let open = move |d: Dialog| {
        move |ev: MouseEvent| {
            ev.prevent_default();
            create.value().set(None);
            update.value().set(None);
            dialog.set(d.clone());
        }
    };

    let q = move || query.read().get("q").unwrap_or_default();

    view! {
        <Title text="Application Credentials" />
        <PageHead
            title="Application Credentials"
            description="Credentials let other systems call the API on your behalf, with the roles you choose."
        >
            <a class="btn btn-primary" href="/credentials/new" on:click=open(Dialog::Create)>
                "+ New credential"
            </a>
        </PageHead>
        <form class="toolbar" method="get" action="/" role="search">
            <label class="sr-only" for="filter">"Filter credentials"</label>
            <input id="filter" name="q" type="search" placeholder="Filter by name or client ID" value=q />
            <button type="submit" class="btn">"Filter"</button>
        </form>
        <Transition fallback=|| view! { <div class="page-loading">"Loading…"</div> }>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(CredentialList { page, api_enabled }) => Either::Left(view! {
                        <ApiSwitchedOff enabled=api_enabled />
                        <CredentialTable page api_enabled dialog />
                    }),
                    Err(e) => Either::Right(view! { <div class="alert alert-error" role="alert">{e.to_string()}</div> }),
                }
            })}
        </Transition>
        <CredentialDialogs dialog form create update regenerate delete />
    }
}

#[component]
fn CredentialTable(page: Page<CredentialSummary>, api_enabled: bool, dialog: RwSignal<Dialog>) -> impl IntoView {
    let query = use_query_map();
    let filtered = !query.read_untracked().get("q").unwrap_or_default().is_empty();
    if page.total == 0 {
        return Either::Left(if filtered {
            view! {
                <div class="empty-state">
                    <h3>"No credentials match this filter"</h3>
                    <p class="muted">"Try another name or part of a client ID."</p>
                    <a class="btn" href="/">"Clear the filter"</a>
                </div>
            }
            .into_any()
        } else {
            view! {
                <div class="empty-state">
                    <h3>"No application credentials yet"</h3>
                    <p class="muted">
                        "An application credential is a client ID and secret that another system exchanges for a "
                        "bearer token (OAuth 2.0 client credentials). It acts on your behalf with the roles you "
                        "give it, until its expiry date."
                    </p>
                    <a class="btn btn-primary" href="/credentials/new">"+ New credential"</a>
                </div>
            }
            .into_any()
        });
    }

    let now = page.now;
    let rows = page.items.iter().cloned().map(|c| view! { <CredentialRow c now api_enabled dialog /> }).collect_view();
    let (total, current, per_page) = (page.total, page.page, page.per_page);

    Either::Right(view! {
        <div class="table-wrap">
            <table class="data">
                <thead>
                    <tr>
                        <SortHeader label="Name" key="name" base="/" />
                        <th scope="col">"Client ID"</th>
                        <th scope="col">"Roles"</th>
                        <th scope="col">"Status"</th>
                        <SortHeader label="Expires" key="expires" base="/" />
                        <SortHeader label="Created" key="created" base="/" />
                        <SortHeader label="Last used" key="last_used" base="/" />
                        <th scope="col" class="actions"><span class="sr-only">"Actions"</span></th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
        <TableFooter total page=current per_page noun="credential" base="/" />
    })
}

/// Says so when General Settings switched the API off: no credential can
/// obtain a token until an Administrator switches it back on.
#[component]
fn ApiSwitchedOff(enabled: bool) -> impl IntoView {
    (!enabled).then(|| {
        view! {
            <div class="alert alert-warning" role="status">
                <strong>"API access is switched off. "</strong>
                "An Administrator turned it off in General Settings: token requests and API calls are refused "
                "for every credential until it is switched back on."
            </div>
        }
    })
}

#[component]
fn CredentialRow(c: CredentialSummary, now: i64, api_enabled: bool, dialog: RwSignal<Dialog>) -> impl IntoView {
    let hydrated = use_hydrated();
    let id = c.id.clone();
    let short_id = format!("{}…", &id[..8.min(id.len())]);
    let roles = c.roles.iter().cloned().map(|role| view! { <CredentialRoleChip role /> }).collect_view();
    let status = c.status(now);
    let last_used = c.last_used_at.map(|t| relative_time(now, t)).unwrap_or_else(|| "Never".to_string());
    let open = move |d: Dialog| {
        move |ev: MouseEvent| {
            ev.prevent_default();
            dialog.set(d.clone());
        }
    };
    // The row leaves the API switch to the page's notice; the edit dialog
    // says everything.
    let row_rights = c.effective_rights(now, true);
    let rights = c.effective_rights(now, api_enabled);
    let (e, r, d) = (Dialog::Edit(c.clone(), rights), Dialog::Regenerate(c.clone()), Dialog::Delete(c.clone()));
    let id_for_copy = id.clone();
    view! {
        <tr>
            <td class="name">
                <span class="truncate" title=c.name.clone()>{c.name.clone()}</span>
            </td>
            <td class="mono">
                <span class="row">
                    <span title=id.clone()>{short_id}</span>
                    <Show when=move || hydrated.get()>
                        <CopyButton text=id_for_copy.clone() label="client ID" compact=true />
                    </Show>
                </span>
            </td>
            <td>
                <div class="chips">{roles}</div>
                <EffectiveRightsNote rights=row_rights />
            </td>
            <td><CredentialStatusBadge status /></td>
            <td>
                <div>{format_date(c.expires_at)}</div>
                <div class="muted">{relative_time(now, c.expires_at)}</div>
            </td>
            <td title=format!("Secret last set {}", format_date(c.secret_rotated_at))>{format_date(c.created_at)}</td>
            <td>
                <a href=format!("/credentials/{id}/usage") title="API use of this credential">{last_used}</a>
            </td>
            <td class="actions">
                <a class="btn btn-sm" href=format!("/credentials/{id}/edit") on:click=open(e)>"Edit"</a>
                " "
                <a
                    class="btn btn-sm"
                    href=format!("/credentials/{id}/regenerate")
                    aria-label="Regenerate secret"
                    title="Regenerate secret"
                    on:click=open(r)
                >
                    "Regenerate"
                </a>
                " "
                <a class="btn btn-sm btn-danger" href=format!("/credentials/{id}/delete") on:click=open(d)>"Delete"</a>
            </td>
        </tr>
    }
}
