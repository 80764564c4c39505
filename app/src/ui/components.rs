//! Small shared pieces of UI.

use crate::model::{format_date, CredentialRole, Role};
use leptos::either::Either;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

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

#[component]
pub fn RoleChip(role: Role) -> impl IntoView {
    view! { <span class="chip" title=role.description()>{role.label()}</span> }
}

/// A role on a credential: greyed out and struck through when the owner has
/// lost it, with a tooltip saying since when.
#[component]
pub fn CredentialRoleChip(role: CredentialRole) -> impl IntoView {
    match role.revoked_at {
        None => view! { <span class="chip" title=role.role.description()>{role.role.label()}</span> }.into_any(),
        Some(at) => {
            let tip = revoked_tooltip(at);
            view! {
                <span class="chip chip-revoked" title=tip aria-label=format!("{} (revoked)", role.role.label())>
                    {role.role.label()}
                </span>
            }
            .into_any()
        }
    }
}

pub fn revoked_tooltip(revoked_at: i64) -> String {
    if revoked_at > 0 {
        format!("Revoked from you on {}. New tokens will not get this role.", format_date(revoked_at))
    } else {
        "You do not hold this role. New tokens will not get this role.".to_string()
    }
}

/// True once the wasm bundle has taken over the page; enhancements that
/// need JavaScript render only then, so the no-JS page never shows dead
/// buttons.
pub fn use_hydrated() -> ReadSignal<bool> {
    let (hydrated, set_hydrated) = signal(false);
    Effect::new(move |_| set_hydrated.set(true));
    hydrated
}

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

/// A modal `<dialog>`: Esc closes it, focus stays inside while it is open
/// and returns to the opener when it closes (native dialog behaviour).
#[component]
pub fn Modal(
    open: Signal<bool>,
    on_close: Callback<()>,
    #[prop(into)] label: String,
    children: ChildrenFn,
) -> impl IntoView {
    let node = NodeRef::<leptos::html::Dialog>::new();
    Effect::new(move |_| {
        if let Some(d) = node.get() {
            if open.get() {
                if !d.open() {
                    let _ = d.show_modal();
                }
            } else if d.open() {
                d.close();
            }
        }
    });
    view! {
        // `close` also fires when we close it ourselves (because `open` went
        // false); only a close the user made (Esc) is reported.
        <dialog
            class="modal"
            node_ref=node
            aria-label=label
            on:close=move |_| {
                if open.get_untracked() {
                    on_close.run(())
                }
            }
        >
            <Show when=move || open.get()>{children()}</Show>
        </dialog>
    }
}

/// Every parameter a list page keeps in its URL.
const LIST_PARAMS: [&str; 11] =
    ["q", "view", "from", "to", "actor", "credential", "event", "outcome", "sort", "dir", "page"];

/// A link to `base` with the list parameters of `query` (filter, sort, page),
/// some of them replaced by `set` (an empty value drops the parameter).
pub fn link_with(base: &str, query: &leptos_router::params::ParamsMap, set: &[(&str, String)]) -> String {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for key in LIST_PARAMS {
        if let Some((_, v)) = set.iter().find(|(k, _)| *k == key) {
            if !v.is_empty() {
                pairs.push((key.to_string(), v.clone()));
            }
        } else if let Some(v) = query.get(key) {
            pairs.push((key.to_string(), v));
        }
    }
    if pairs.is_empty() {
        return base.to_string();
    }
    let enc = |s: &str| {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect::<String>()
    };
    format!("{base}?{}", pairs.iter().map(|(k, v)| format!("{k}={}", enc(v))).collect::<Vec<_>>().join("&"))
}

/// The line under a list: how many there are ("27 credentials") and the
/// previous / next links.
#[component]
pub fn TableFooter(total: i64, page: i64, per_page: i64, noun: &'static str, base: &'static str) -> impl IntoView {
    let pages = (total + per_page - 1) / per_page;
    let count = format!("{total} {noun}{}", if total == 1 { "" } else { "s" });
    view! {
        <div class="table-footer">
            <span class="muted">{count}</span>
            <Pagination current=page pages base />
        </div>
    }
}

/// Previous / next links for a list page.
#[component]
fn Pagination(current: i64, pages: i64, base: &'static str) -> impl IntoView {
    let query = use_query_map();
    let q = query.read_untracked();
    if pages <= 1 {
        return Either::Left(());
    }
    let link = |p: i64| link_with(base, &q, &[("page", if p == 1 { String::new() } else { p.to_string() })]);
    let prev = (current > 1).then(|| view! { <a class="btn btn-sm" href=link(current - 1) rel="prev">"Previous"</a> });
    let next = (current < pages).then(|| view! { <a class="btn btn-sm" href=link(current + 1) rel="next">"Next"</a> });
    Either::Right(view! {
        <nav class="pagination" aria-label="Pages">
            {prev}
            <span class="muted">{format!("Page {current} of {pages}")}</span>
            {next}
        </nav>
    })
}

/// A column header that sorts the list at `base` by `key` (the default sort
/// is by name, ascending); clicking again reverses it.
#[component]
pub fn SortHeader(label: &'static str, key: &'static str, base: &'static str) -> impl IntoView {
    let query = use_query_map();
    let q = query.read_untracked();
    let active = q.get("sort").as_deref() == Some(key) || (q.get("sort").is_none() && key == "name");
    let desc = q.get("dir").as_deref() == Some("desc");
    let next_dir = if active && !desc { "desc" } else { "asc" };
    let href =
        link_with(base, &q, &[("sort", key.to_string()), ("dir", next_dir.to_string()), ("page", String::new())]);
    let aria = if active {
        if desc {
            "descending"
        } else {
            "ascending"
        }
    } else {
        "none"
    };
    view! {
        <th scope="col" aria-sort=aria>
            <a class="sort" href=href>{label}</a>
        </th>
    }
}
