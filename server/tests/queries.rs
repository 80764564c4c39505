//! Lists read the roles of a whole page in one statement, never one per
//! row: every statement the process sends is counted (sqlx reports each one
//! as a `sqlx::query` event), and each list, with more rows than a page,
//! must send exactly one that reads the role tables.

// A binary of its own, with one test: the count is of every statement the
// process sends, so nothing else may run beside it; and the subscriber is
// global, because on SQLite statements run on the driver's worker thread.
mod common;

use app::backend::credentials::repo::NewCredential;
use app::backend::credentials::service as credentials;
use app::backend::users::service as users;
use app::model::{CredentialSort, Role, SECS_PER_DAY};
use axum::http::StatusCode;
use common::rows;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt as _};
use tracing_subscriber::Layer;

/// Counts the statements that read or write `user_roles` or
/// `credential_roles`.
#[derive(Clone, Default)]
struct RoleStatements(Arc<AtomicUsize>);

impl RoleStatements {
    fn install() -> Self {
        let counter = RoleStatements::default();
        tracing::subscriber::set_global_default(tracing_subscriber::registry().with(counter.clone()))
            .expect("the only subscriber of this binary");
        counter
    }

    /// The statements counted since the last call.
    fn take(&self) -> usize {
        self.0.swap(0, Ordering::SeqCst)
    }
}

/// The text of an event's fields (the statement is in `summary` and
/// `db.statement`).
struct Text(String);

impl Visit for Text {
    fn record_str(&mut self, _: &Field, value: &str) {
        self.0.push_str(value);
        self.0.push(' ');
    }

    fn record_debug(&mut self, _: &Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!("{value:?} "));
    }
}

impl<S: tracing::Subscriber> Layer<S> for RoleStatements {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if event.metadata().target() != "sqlx::query" {
            return;
        }
        let mut text = Text(String::new());
        event.record(&mut text);
        if text.0.contains("user_roles") || text.0.contains("credential_roles") {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
}

const ROWS: usize = 30;

/// Uses the token until a use is answered from the token cache (no
/// statement reads the roles), so that the next call's statements are the
/// list's own. On PostgreSQL the epoch moves once the change listener is
/// connected and at the first poll (ADR 0005), and each move empties the
/// cache.
async fn warm(app: &common::TestApp, token: &str, statements: &RoleStatements) {
    for _ in 0..50 {
        statements.take();
        assert_eq!(common::api(app, "/api/v1/me", token).await.status, StatusCode::OK);
        if statements.take() == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the token was never answered from the cache");
}

#[tokio::test]
async fn every_list_reads_the_roles_of_its_page_in_one_statement() {
    let statements = RoleStatements::install();
    let app = common::spawn().await;
    let (db, now) = (&app.state.db, app.now());
    let admin = users::find_by_username(db, "admin").await.unwrap();

    // More users and credentials than a page holds, each with two roles
    // (one of them lost by the owner, for the credentials).
    for i in 0..ROWS {
        let user = format!("user-{i:02}");
        rows::user(db, &user, true, 0, 0).await;
        rows::user_role(db, &user, Role::WorkCreator, 0, false).await;
        rows::user_role(db, &user, Role::TeamLeader, 0, true).await;
        let credential = format!("credential-{i:02}");
        let new = NewCredential {
            id: &credential,
            owner_id: &admin.id,
            name: &credential,
            secret_digest: "0",
            expires_at: now + 30 * SECS_PER_DAY,
            now,
        };
        rows::credential(db, new, 1, None, None).await;
        rows::credential_role(db, &credential, Role::Auditor, 0).await;
        rows::credential_role(db, &credential, Role::ServiceAgent, 0).await;
    }
    // A bearer token for the API's lists.
    let client = common::credential_for(&app, &admin.id, "API lists", &["auditor", "user_manager"]).await;
    let token = common::access_token(&app, &client).await;
    let principal = common::person(&app, &admin.id).await;
    statements.take();

    let page = users::list(&app.state, &principal, "user-", 1).await.unwrap();
    assert_eq!((page.items.len(), page.items[3].roles.as_slice()), (25, [Role::WorkCreator].as_slice()));
    assert_eq!(statements.take(), 1, "the Users page");

    assert_eq!(users::list_with_roles(&app.state, &principal).await.unwrap().len(), ROWS + 1);
    assert_eq!(statements.take(), 1, "every user with their roles (the CLI)");

    let page = credentials::list(&app.state, &principal, "credential-", CredentialSort::Name, false, 1).await.unwrap();
    assert_eq!((page.page.items.len(), page.page.items[3].roles.len()), (25, 2));
    assert_eq!(statements.take(), 1, "the owner's credentials");

    let query =
        app::backend::credentials::audited::query_from_params(Some("credential-".into()), None, None, None, None);
    let page = credentials::audited(&app.state, &principal, &query).await.unwrap();
    assert_eq!((page.items.len(), page.items[3].roles.len()), (25, 2));
    assert_eq!(statements.take(), 1, "the Auditor's credentials");
    assert!(credentials::audited_csv(&app.state, &principal, &query).await.unwrap().contains("credential-29"));
    assert_eq!(statements.take(), 1, "the Auditor's credentials as CSV");

    warm(&app, &token, &statements).await;
    let res = common::api(&app, "/api/v1/credentials", &token).await;
    assert_eq!((res.status, common::json(&res)["credentials"].as_array().unwrap().len()), (StatusCode::OK, ROWS + 1));
    assert_eq!(statements.take(), 1, "GET /api/v1/credentials");

    warm(&app, &token, &statements).await;
    let res = common::api(&app, "/api/v1/users", &token).await;
    assert_eq!((res.status, common::json(&res)["users"].as_array().unwrap().len()), (StatusCode::OK, ROWS + 1));
    assert_eq!(statements.take(), 1, "GET /api/v1/users");
}
