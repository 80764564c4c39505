//! Small shared pieces of UI.

use crate::error::AppError;
use crate::model::{
    format_date, CreatedSecret, CredentialFormData, CredentialRole, CredentialSummary, EffectiveRights, Role, RoleGroup,
};
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

/// The client id and secret, shown once, with copy buttons and the warning.
#[component]
pub fn SecretPanel(secret: CreatedSecret, #[prop(into)] heading: String) -> impl IntoView {
    let CreatedSecret { client_id, name, secret } = secret;
    view! {
        <div class="stack secret-panel">
            <h2 class="success-heading">{heading}</h2>
            <p class="muted">"Credential: " <strong>{name}</strong></p>
            <SecretField id="created-client-id" label="Client ID" value=client_id copy_label="client ID" />
            <SecretField id="created-secret" label="Client secret" value=secret copy_label="client secret" />
            <div class="warning-callout" role="alert">
                <strong>"Copy the secret now. "</strong>
                "You will not be able to see it again. If you lose it, regenerate the secret."
            </div>
        </div>
    }
}

/// Values a credential form starts with.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FormValues {
    pub name: String,
    pub expires_on: String,
    pub roles: Vec<Role>,
    /// Roles on the credential that the owner no longer holds (greyed out).
    pub revoked: Vec<CredentialRole>,
}

impl FormValues {
    pub fn for_create(data: &CredentialFormData) -> Self {
        FormValues { expires_on: data.default_expiry.clone(), ..Default::default() }
    }

    pub fn for_edit(c: &CredentialSummary) -> Self {
        FormValues {
            name: c.name.clone(),
            expires_on: format_date(c.expires_at),
            roles: c.effective_roles(),
            revoked: c.roles.iter().filter(|r| r.revoked_at.is_some()).cloned().collect(),
        }
    }
}

/// The fields of the create and edit forms: name, expiry with quick picks,
/// and the roles the user holds as two (or three) fieldsets. Errors appear
/// next to their field.
#[component]
pub fn CredentialFields(
    data: CredentialFormData,
    values: FormValues,
    #[prop(into)] error: Signal<Option<AppError>>,
    /// Distinguishes the ids of two forms on one page.
    #[prop(into)]
    prefix: String,
) -> impl IntoView {
    let hydrated = use_hydrated();
    let expires = RwSignal::new(values.expires_on.clone());
    let today_days = crate::model::parse_date(&data.today).unwrap_or(0);
    let max_days = data.max_days;
    let field_error = move |field: &'static str| move || error.get().and_then(|e| e.field_message(field));
    let form_error = move || {
        error.get().filter(|e| !matches!(e, AppError::Invalid { field, .. } if field != "form")).map(|e| e.to_string())
    };
    let name_id = format!("{prefix}-name");
    let exp_id = format!("{prefix}-expires");

    let groups = RoleGroup::ALL
        .into_iter()
        .filter_map(|group| {
            let held: Vec<Role> = data.grantable.iter().copied().filter(|r| r.group() == group).collect();
            let revoked: Vec<CredentialRole> =
                values.revoked.iter().filter(|r| r.role.group() == group).cloned().collect();
            if held.is_empty() && revoked.is_empty() {
                return None;
            }
            let rows = held
                .into_iter()
                .map(|role| {
                    let id = format!("{prefix}-role-{}", role.slug());
                    let checked = values.roles.contains(&role);
                    view! {
                        <div class="checkbox-row">
                            <input type="checkbox" id=id.clone() name="roles[]" value=role.slug() checked=checked />
                            <label for=id>
                                <span class="role-name">{role.label()}</span>
                                <span class="hint">{role.description()}</span>
                            </label>
                        </div>
                    }
                })
                .collect_view();
            let greyed = revoked
                .into_iter()
                .map(|r| {
                    let id = format!("{prefix}-revoked-{}", r.role.slug());
                    let tip = revoked_tooltip(r.revoked_at.unwrap_or(0));
                    let title = tip.clone();
                    view! {
                        <div class="checkbox-row revoked" title=title>
                            <input type="checkbox" id=id.clone() checked=true disabled=true />
                            <label for=id>
                                <span class="role-name chip-revoked-text">{r.role.label()} " (revoked)"</span>
                                <span class="hint">{tip}</span>
                            </label>
                        </div>
                    }
                })
                .collect_view();
            Some(view! {
                <fieldset class="fieldset">
                    <legend>{group.label()}</legend>
                    {rows}
                    {greyed}
                </fieldset>
            })
        })
        .collect_view();

    let picks = move || {
        [30i64, 90, 180, 365]
            .into_iter()
            .filter(move |d| *d <= max_days)
            .map(move |d| {
                view! {
                    <button
                        type="button"
                        class="btn btn-sm"
                        on:click=move |_| expires.set(format_date((today_days + d) * crate::model::SECS_PER_DAY))
                    >
                        {format!("{d} days")}
                    </button>
                }
            })
            .collect_view()
    };

    view! {
        {move || form_error().map(|m| view! { <div class="alert alert-error" role="alert">{m}</div> })}
        <div class="field">
            <label for=name_id.clone()>"Name"</label>
            <input
                id=name_id
                name="name"
                type="text"
                required
                maxlength="100"
                value=values.name
                placeholder="e.g. Billing sync job"
                aria-invalid=move || field_error("name")().is_some().to_string()
            />
            {move || field_error("name")().map(|m| view! { <div class="field-error">{m}</div> })}
        </div>
        <div class="field">
            <label for=exp_id.clone()>"Expiration date"</label>
            <input
                id=exp_id
                name="expires_on"
                type="date"
                required
                min=data.today.clone()
                max=data.max_expiry.clone()
                prop:value=move || expires.get()
                value=values.expires_on
                aria-invalid=move || field_error("expires_on")().is_some().to_string()
            />
            <Show when=move || hydrated.get()>
                <div class="quick-picks" aria-label="Quick picks">{picks()}</div>
            </Show>
            <div class="hint">{format!("At most {} days from today ({}).", data.max_days, data.max_expiry)}</div>
            {move || field_error("expires_on")().map(|m| view! { <div class="field-error">{m}</div> })}
        </div>
        <div class="field">
            <span class="field-label">"Roles"</span>
            <div class="hint">"The credential acts with these of your roles. Choose as few as the integration needs."</div>
            {groups}
            {move || field_error("roles")().map(|m| view! { <div class="field-error">{m}</div> })}
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

/// The roles a new token would get now, and why any on the record are
/// missing. `full` always says it (the edit dialog); otherwise only when
/// something is missing (list rows, where the chips say the rest).
#[component]
pub fn EffectiveRightsNote(rights: EffectiveRights, #[prop(optional)] full: bool) -> impl IntoView {
    let EffectiveRights { roles, blocked, missing } = rights;
    if let Some(why) = blocked {
        return Either::Left(Some(view! {
            <p class="rights rights-blocked">
                <strong>"New tokens: none. "</strong>
                {why}
            </p>
        }));
    }
    if missing.is_empty() && !full {
        return Either::Left(None);
    }
    let labels = roles.iter().map(|r| r.label()).collect::<Vec<_>>().join(", ");
    let why = (!missing.is_empty()).then(|| {
        let each = missing.iter().map(|(role, at)| match (*at > 0, full) {
            (true, true) => format!("{role} was revoked from you on {}", format_date(*at)),
            (true, false) => format!("{role} (revoked {})", format_date(*at)),
            (false, _) => format!("{role} (you do not hold it)"),
        });
        format!("Not included: {}.", each.collect::<Vec<_>>().join("; "))
    });
    Either::Right(view! {
        <p class="rights">
            <strong>"New tokens get: "</strong>
            {labels}
            "."
            {why.map(|w| view! { <span class="rights-missing">" " {w}</span> })}
        </p>
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
