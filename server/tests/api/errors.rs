//! docs/errors.md is the table of every surface's answer to each domain
//! error. This reads it and checks each row against the code.

use app::backend::Error;
use app::error::AppError;
use app::model::Role;
use appcred_server::error::ApiError;
use appcred_server::oauth::OAuthError;
use axum::response::IntoResponse;

const DOC: &str = include_str!("../../../docs/errors.md");

/// One example of each domain error, by the name the tables use.
fn example(name: &str) -> Error {
    match name {
        "`Unauthenticated`" => Error::Unauthenticated,
        "`MissingRole`" => Error::MissingRole(Role::UserManager),
        "`Refused`" => Error::Refused("API access is switched off by the administrator"),
        "`NotFound`" => Error::NotFound,
        "`Invalid` (field `scope`)" => Error::invalid("scope", "the scope is too wide"),
        "`Invalid` (field `resource`)" => Error::invalid("resource", "only one resource may be requested"),
        "`Invalid`" => Error::invalid("name", "A name is required."),
        "`InvalidCredentials`" => Error::InvalidCredentials,
        "`Throttled`" => Error::Throttled { retry_after_secs: 30 },
        "`Internal`" => Error::Internal(anyhow::anyhow!("the disk is full")),
        other => panic!("docs/errors.md names an unknown domain error: {other}"),
    }
}

/// The rows of the table under `heading`: the cells of each line that
/// starts with a backquoted name, below the header.
fn table(heading: &str) -> Vec<Vec<String>> {
    let start = DOC.find(heading).unwrap_or_else(|| panic!("no section {heading}"));
    let section = &DOC[start + heading.len()..];
    let section = &section[..section.find("\n## ").unwrap_or(section.len())];
    let rows: Vec<Vec<String>> = section
        .lines()
        .skip_while(|l| !l.starts_with("| domain error"))
        .skip(2)
        .take_while(|l| l.starts_with("| `"))
        .map(|l| l.trim_matches('|').split(" | ").map(|c| c.trim().to_string()).collect())
        .collect();
    let names: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(names, DOMAIN_ERRORS, "{heading}: one row per domain error, in order");
    rows
}

const DOMAIN_ERRORS: [&str; 10] = [
    "`Unauthenticated`",
    "`MissingRole`",
    "`Refused`",
    "`NotFound`",
    "`Invalid` (field `scope`)",
    "`Invalid` (field `resource`)",
    "`Invalid`",
    "`InvalidCredentials`",
    "`Throttled`",
    "`Internal`",
];

fn code(cell: &str) -> &str {
    cell.trim_matches('`')
}

#[test]
fn every_domain_error_is_documented_once() {
    table("# Errors");
    // Every variant has an example: a new one fails to compile here until
    // it is added to the tables.
    for name in DOMAIN_ERRORS {
        match example(name) {
            Error::Unauthenticated
            | Error::MissingRole(_)
            | Error::Refused(_)
            | Error::NotFound
            | Error::Invalid { .. }
            | Error::InvalidCredentials
            | Error::Throttled { .. }
            | Error::Internal(_) => {}
        }
    }
}

#[test]
fn the_ui_answers_as_docs_errors_md_says() {
    for row in table("## UI: server functions") {
        let e = AppError::from(example(&row[0]));
        assert_eq!(e.status().to_string(), row[1], "{row:?}");
        let variant = format!("{e:?}");
        let variant = variant.split([' ', '{', '(']).next().unwrap();
        assert_eq!(variant, code(&row[2]), "{row:?}");
    }
}

#[test]
fn the_json_api_answers_as_docs_errors_md_says() {
    for row in table("## JSON API") {
        let e = ApiError::from(example(&row[0]));
        assert_eq!(e.status().as_str(), row[1], "{row:?}");
        assert_eq!(e.code(), code(&row[2]), "{row:?}");
        assert_eq!(e.into_response().status().as_str(), row[1], "{row:?}");
    }
}

#[test]
fn forward_auth_answers_as_docs_errors_md_says() {
    use appcred_server::forward_auth;
    for row in table("## Forward auth") {
        let e = forward_auth::from_domain(example(&row[0]));
        assert_eq!(e.code(), code(&row[2]), "{row:?}");
        let res = forward_auth::answer(e);
        assert_eq!(res.status().as_str(), row[1], "{row:?}");
        assert!(["401", "403", "503"].contains(&row[1].as_str()), "nginx relays only these: {row:?}");
        assert!(res.headers().contains_key("www-authenticate"), "{row:?}");
    }
}

#[test]
fn the_oauth_endpoints_answer_as_docs_errors_md_says() {
    for row in table("## OAuth") {
        let e = OAuthError::from(example(&row[0]));
        assert_eq!(e.status.as_str(), row[1], "{row:?}");
        assert_eq!(e.code.as_str(), code(&row[2]), "{row:?}");
    }
}

#[test]
fn the_cli_answers_as_docs_errors_md_says() {
    for row in table("## CLI") {
        let text = format!("{:#}", appcred_server::cli::from_domain(example(&row[0])));
        let expected = code(&row[1]);
        let fixed = expected.split(['…', '<']).next().unwrap();
        assert!(text.starts_with(fixed), "{row:?}: {text}");
    }
}

/// A server function called without its arguments answers the UI table's
/// `Invalid` (422), not a bare 500, and says nothing about what was sent.
#[tokio::test]
async fn a_malformed_server_function_call_is_422_with_the_form_error() {
    use crate::common::*;
    let app = spawn().await;
    let cookie = app.sign_in_admin().await;
    let res = app.server_fn("credentials/create", &[("name", "x")], Some(&cookie)).await;
    assert_eq!(res.status, axum::http::StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
    let e: AppError = serde_json::from_str(&res.body).expect("the body is the AppError");
    assert!(e.field_message("form").is_some(), "{e:?}");
}

/// An export refused for its input answers the UI table's status (422),
/// as the server functions do.
#[tokio::test]
async fn an_export_with_a_bad_filter_answers_the_ui_status() {
    use crate::common::*;
    let app = spawn().await;
    let cookie = app.sign_in_admin().await;
    let res = app.get("/audit/export/events?from=yesterday", Some(&cookie)).await;
    assert_eq!(res.status, axum::http::StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
}
