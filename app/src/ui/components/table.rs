//! The parts of a list table: sortable column headers, the footer with the
//! count and the page links, and the links themselves, which keep the
//! list's URL parameters.

use leptos::either::Either;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

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
