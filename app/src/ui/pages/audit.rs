//! The Auditor pages: the audit log with filters and CSV export, every
//! user's credentials with filters and CSV export, and a credential's
//! tracked API use. Read-only; filters are plain GET forms, so they work
//! without JavaScript and their URLs can be shared.

use crate::api::audit::{audit_events, audited_credentials, audited_usage};
use crate::api::credentials::credential_usage;
use crate::error::AppError;
use crate::model::{
    format_date, format_time_of_day, relative_time, AuditEntry, AuditedCredential, CredentialUsage, CredentialView,
    Page, AUDIT_EVENT_TYPES, SECS_PER_DAY,
};
use crate::ui::components::{link_with, CredentialRoleChip, CredentialStatusBadge, PageHead, SortHeader, TableFooter};
use leptos::either::Either;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

fn param(q: &leptos_router::params::ParamsMap, key: &str) -> Option<String> {
    q.get(key).filter(|v| !v.is_empty())
}

/// The current URL's query string (for the export links).
fn export_href(base: &str, q: &leptos_router::params::ParamsMap) -> String {
    link_with(base, q, &[("page", String::new()), ("sort", q.get("sort").unwrap_or_default())])
}

#[component]
pub fn AuditLogPage() -> impl IntoView {
    let query = use_query_map();
    let events = Resource::new(
        move || query.get(),
        |q| {
            audit_events(
                param(&q, "from"),
                param(&q, "to"),
                param(&q, "actor"),
                param(&q, "credential"),
                param(&q, "event"),
                param(&q, "outcome"),
                q.get("page").and_then(|p| p.parse().ok()),
            )
        },
    );
    let q = query.read_untracked();
    let value = move |key: &str| q.get(key).unwrap_or_default();
    let (from, to, actor, credential) = (value("from"), value("to"), value("actor"), value("credential"));
    let (event, outcome) = (value("event"), value("outcome"));
    let export = export_href("/audit/export/events", &query.read_untracked());
    let types =
        AUDIT_EVENT_TYPES.iter().map(|t| view! { <option value=*t selected=event == *t>{*t}</option> }).collect_view();

    view! {
        <Title text="Audit Log" />
        <PageHead title="Audit Log" description="Every sign-in, credential, token, user and settings event. Events are never changed or deleted. Times are UTC.">
            <a class="btn" href=export download>"Export CSV"</a>
        </PageHead>
        <form class="filters card" method="get" action="/audit" aria-label="Filter events">
            <div class="filter-grid">
                <div class="field">
                    <label for="f-from">"From"</label>
                    <input id="f-from" name="from" type="date" value=from />
                </div>
                <div class="field">
                    <label for="f-to">"To"</label>
                    <input id="f-to" name="to" type="date" value=to />
                </div>
                <div class="field">
                    <label for="f-actor">"Actor"</label>
                    <input id="f-actor" name="actor" type="text" placeholder="Username or client ID" value=actor />
                </div>
                <div class="field">
                    <label for="f-credential">"Credential"</label>
                    <input id="f-credential" name="credential" type="text" placeholder="Client ID" value=credential />
                </div>
                <div class="field">
                    <label for="f-event">"Event"</label>
                    <select id="f-event" name="event">
                        <option value="">"Any event"</option>
                        {types}
                    </select>
                </div>
                <div class="field">
                    <label for="f-outcome">"Outcome"</label>
                    <select id="f-outcome" name="outcome">
                        <option value="">"Any outcome"</option>
                        <option value="success" selected=outcome == "success">"Success"</option>
                        <option value="failure" selected=outcome == "failure">"Failure"</option>
                    </select>
                </div>
            </div>
            <div class="row">
                <button type="submit" class="btn btn-primary">"Apply filters"</button>
                <a class="btn btn-ghost" href="/audit">"Clear"</a>
            </div>
        </form>
        <Transition fallback=|| view! { <div class="page-loading">"Loading…"</div> }>
            {move || Suspend::new(async move {
                match events.await {
                    Ok(page) => Either::Left(view! { <AuditTable page /> }),
                    Err(e) => Either::Right(error_alert(e)),
                }
            })}
        </Transition>
    }
}

fn error_alert(e: AppError) -> impl IntoView {
    let message = match &e {
        AppError::Invalid { message, .. } => message.clone(),
        other => other.to_string(),
    };
    view! { <div class="alert alert-error" role="alert">{message}</div> }
}

#[component]
fn AuditTable(page: Page<AuditEntry>) -> impl IntoView {
    if page.total == 0 {
        return Either::Left(view! {
            <div class="empty-state">
                <h3>"No events match these filters"</h3>
                <p class="muted">"Widen the dates or clear a filter."</p>
                <a class="btn" href="/audit">"Clear filters"</a>
            </div>
        });
    }
    let (total, current, per_page) = (page.total, page.page, page.per_page);
    let rows = page.items.into_iter().map(|e| view! { <AuditRow e /> }).collect_view();
    Either::Right(view! {
        <div class="table-wrap">
            <table class="data audit">
                <thead>
                    <tr>
                        <th scope="col">"Time (UTC)"</th>
                        <th scope="col">"Event"</th>
                        <th scope="col">"Outcome"</th>
                        <th scope="col">"Actor"</th>
                        <th scope="col">"Target"</th>
                        <th scope="col">"Address"</th>
                        <th scope="col">"Details"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
        <TableFooter total page=current per_page noun="event" base="/audit" />
    })
}

/// `key: value` pairs of an event's details; a change shows as before → after.
fn details_text(json: &str) -> Vec<String> {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(json) else {
        return Vec::new();
    };
    let show = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().map(str::to_string).unwrap_or_else(|| i.to_string()))
            .collect::<Vec<_>>()
            .join(" "),
        other => other.to_string(),
    };
    map.iter()
        .map(|(k, v)| match (v.get("before"), v.get("after")) {
            (Some(b), Some(a)) => format!("{k}: {} → {}", show(b), show(a)),
            _ => format!("{k}: {}", show(v)),
        })
        .collect()
}

#[component]
fn AuditRow(e: AuditEntry) -> impl IntoView {
    let time = format!("{} {}", format_date(e.at), format_time_of_day(e.at));
    let outcome = if e.outcome == "success" {
        view! { <span class="badge badge-success">"Success"</span> }.into_any()
    } else {
        view! { <span class="badge badge-danger">"Failure"</span> }.into_any()
    };
    let actor = match (e.actor_kind.as_str(), e.actor_name) {
        ("system", _) => view! { <span class="muted">"System"</span> }.into_any(),
        ("operator", _) => view! { <span class="muted">"Operator (command line)"</span> }.into_any(),
        ("anonymous", _) => view! { <span class="muted">"Anonymous"</span> }.into_any(),
        (kind, name) => view! {
            <span title=e.actor_id.clone().unwrap_or_default()>{name.unwrap_or_default()}</span>
            <div class="muted">{if kind == "credential" { "credential" } else { "user" }}</div>
        }
        .into_any(),
    };
    let target = e.target_name.map(|n| {
        view! {
            <span title=e.target_id.clone().unwrap_or_default()>{n}</span>
            <div class="muted">{e.target_kind.unwrap_or_default()}</div>
        }
    });
    let details = details_text(&e.details).into_iter().map(|d| view! { <div>{d}</div> }).collect_view();
    view! {
        <tr data-seq=e.seq>
            <td class="mono">{time}</td>
            <td class="mono">{e.event}</td>
            <td>{outcome}</td>
            <td>{actor}</td>
            <td>{target}</td>
            <td class="mono">{e.ip.unwrap_or_default()}</td>
            <td class="details">{details}</td>
        </tr>
    }
}

#[component]
pub fn AllCredentialsPage() -> impl IntoView {
    let query = use_query_map();
    let list = Resource::new(
        move || query.get(),
        |q| {
            audited_credentials(
                param(&q, "q"),
                param(&q, "view"),
                param(&q, "sort"),
                param(&q, "dir"),
                q.get("page").and_then(|p| p.parse().ok()),
            )
        },
    );
    let q = query.read_untracked();
    let current_view = q.get("view").and_then(|v| CredentialView::from_param(&v)).unwrap_or(CredentialView::All);
    let filter = q.get("q").unwrap_or_default();
    let export = export_href("/audit/export/credentials", &q);
    let views = CredentialView::ALL
        .into_iter()
        .map(|v| view! { <option value=v.param() selected=v == current_view>{v.label()}</option> })
        .collect_view();
    view! {
        <Title text="All Credentials" />
        <PageHead title="All Credentials" description="Every user's application credentials, including deleted ones. Secrets are never shown.">
            <a class="btn" href=export download>"Export CSV"</a>
        </PageHead>
        <form class="toolbar" method="get" action="/audit/credentials" role="search">
            <label class="sr-only" for="all-filter">"Filter credentials"</label>
            <input id="all-filter" name="q" type="search" placeholder="Name, client ID or owner" value=filter />
            <label class="sr-only" for="all-view">"Show"</label>
            <select id="all-view" name="view">{views}</select>
            <button type="submit" class="btn">"Filter"</button>
        </form>
        <Transition fallback=|| view! { <div class="page-loading">"Loading…"</div> }>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(page) => Either::Left(view! { <AuditedTable page /> }),
                    Err(e) => Either::Right(error_alert(e)),
                }
            })}
        </Transition>
    }
}

#[component]
fn AuditedTable(page: Page<AuditedCredential>) -> impl IntoView {
    if page.total == 0 {
        return Either::Left(view! {
            <div class="empty-state">
                <h3>"No credentials match"</h3>
                <p class="muted">"Try another filter, or show all credentials."</p>
                <a class="btn" href="/audit/credentials">"Show all"</a>
            </div>
        });
    }
    let now = page.now;
    let (total, current, per_page) = (page.total, page.page, page.per_page);
    let rows = page.items.into_iter().map(|c| view! { <AuditedRow c now /> }).collect_view();
    Either::Right(view! {
        <div class="table-wrap">
            <table class="data">
                <thead>
                    <tr>
                        <SortHeader label="Name" key="name" base="/audit/credentials" />
                        <SortHeader label="Owner" key="owner" base="/audit/credentials" />
                        <th scope="col">"Roles"</th>
                        <th scope="col">"Status"</th>
                        <SortHeader label="Expires" key="expires" base="/audit/credentials" />
                        <SortHeader label="Created" key="created" base="/audit/credentials" />
                        <SortHeader label="Last used" key="last_used" base="/audit/credentials" />
                        <th scope="col">"Live tokens"</th>
                        <SortHeader label="Secret age" key="secret" base="/audit/credentials" />
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
        <TableFooter total page=current per_page noun="credential" base="/audit/credentials" />
    })
}

#[component]
fn AuditedRow(c: AuditedCredential, now: i64) -> impl IntoView {
    let status = c.status(now);
    let roles = c.roles.iter().cloned().map(|role| view! { <CredentialRoleChip role /> }).collect_view();
    let last_used = c.last_used_at.map(|t| relative_time(now, t)).unwrap_or_else(|| "Never".to_string());
    let age_days = (now - c.secret_rotated_at) / SECS_PER_DAY;
    let age = if age_days == 0 { "Today".to_string() } else { format!("{age_days} days") };
    view! {
        <tr>
            <td class="name">
                <a class="truncate" href=format!("/audit/credentials/{}", c.id) title=c.name.clone()>{c.name.clone()}</a>
                <div class="muted mono" title=c.id.clone()>{format!("{}…", &c.id[..8.min(c.id.len())])}</div>
            </td>
            <td>{c.owner_username}</td>
            <td><div class="chips">{roles}</div></td>
            <td><CredentialStatusBadge status /></td>
            <td>
                <div>{format_date(c.expires_at)}</div>
                <div class="muted">{relative_time(now, c.expires_at)}</div>
            </td>
            <td>{format_date(c.created_at)}</td>
            <td>{last_used}</td>
            <td class="num">{c.live_tokens}</td>
            <td title=format!("Secret set {}", format_date(c.secret_rotated_at))>{age}</td>
        </tr>
    }
}

/// A credential's API use for Auditors.
#[component]
pub fn AuditedUsagePage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let usage = Resource::new(id, audited_usage);
    view! {
        <Title text="API use" />
        <p class="breadcrumb"><a href="/audit/credentials">"← All Credentials"</a></p>
        <UsageView id=Signal::derive(id) usage />
    }
}

/// One of the caller's own credentials' API use.
#[component]
pub fn OwnUsagePage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let usage = Resource::new(id, credential_usage);
    view! {
        <Title text="API use" />
        <p class="breadcrumb"><a href="/">"← Application Credentials"</a></p>
        <UsageView id=Signal::derive(id) usage />
    }
}

#[component]
fn UsageView(id: Signal<String>, usage: Resource<Result<CredentialUsage, AppError>>) -> impl IntoView {
    view! {
        <div class="page-head">
            <div>
                <h1>"API use"</h1>
                <p class="muted">"Client ID " <span class="mono">{id}</span> ". Counted as calls arrive; figures can lag by a few seconds."</p>
            </div>
        </div>
        <Transition fallback=|| view! { <div class="page-loading">"Loading…"</div> }>
            {move || Suspend::new(async move {
                match usage.await {
                    Ok(u) => Either::Left(view! { <UsageTables u /> }),
                    Err(e) => Either::Right(error_alert(e)),
                }
            })}
        </Transition>
    }
}

#[component]
fn UsageTables(u: CredentialUsage) -> impl IntoView {
    if u.days.is_empty() && u.addresses.is_empty() {
        return Either::Left(view! {
            <div class="empty-state">
                <h3>"Not used yet"</h3>
                <p class="muted">"Token requests and API calls with this credential will appear here."</p>
            </div>
        });
    }
    let days = u
        .days
        .into_iter()
        .map(|d| {
            view! {
                <tr>
                    <td>{format_date(d.day)}</td>
                    <td class="mono">{d.endpoint}</td>
                    <td class="num">{d.calls}</td>
                </tr>
            }
        })
        .collect_view();
    let addresses = u
        .addresses
        .into_iter()
        .map(|a| {
            view! {
                <tr>
                    <td class="mono">{a.ip}</td>
                    <td>{format_date(a.last_seen)}</td>
                    <td class="num">{a.calls}</td>
                </tr>
            }
        })
        .collect_view();
    Either::Right(view! {
        <section class="card" aria-labelledby="calls-heading">
            <div class="card-head"><h2 id="calls-heading">"Calls per endpoint per day"</h2><span class="muted">"Last 30 days, UTC"</span></div>
            <div class="table-wrap">
                <table class="data">
                    <thead><tr><th scope="col">"Day"</th><th scope="col">"Endpoint"</th><th scope="col" class="num">"Calls"</th></tr></thead>
                    <tbody>{days}</tbody>
                </table>
            </div>
        </section>
        <section class="card" aria-labelledby="addresses-heading">
            <div class="card-head"><h2 id="addresses-heading">"Recent source addresses"</h2></div>
            <div class="table-wrap">
                <table class="data">
                    <thead><tr><th scope="col">"Address"</th><th scope="col">"Last seen"</th><th scope="col" class="num">"Calls"</th></tr></thead>
                    <tbody>{addresses}</tbody>
                </table>
            </div>
        </section>
    })
}
