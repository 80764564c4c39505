//! Throttles that cannot be raced and that count across instances, and
//! floods of refused token requests that do not grow the database
//! (docs/security.md "Throttling", docs/audit.md "Refused token requests").

use crate::common::*;
use app::backend::tokens::service::{PER_ADDRESS, PER_CLIENT_AND_ADDRESS, THROTTLE_PREFIX, WINDOW};
use app::model::Role;
use axum::http::StatusCode;
use std::sync::Arc;

const PW: &str = "a long secret phrase";
const GRANT: [(&str, &str); 1] = [("grant_type", "client_credentials")];

async fn client(app: &TestApp) -> Client {
    let user_id = app.create_user("alice", PW, &[Role::WorkCreator]).await;
    credential_for(app, &user_id, "integration", &["work_creator"]).await
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&app.state.db.pool).await.unwrap()
}

/// Statuses of `n` concurrent requests made by `call`, and how many of the
/// throttled ones carried a positive Retry-After.
async fn concurrently<F, Fut>(app: &Arc<TestApp>, n: usize, call: F) -> (Vec<StatusCode>, usize)
where
    F: Fn(Arc<TestApp>) -> Fut,
    Fut: std::future::Future<Output = TestResponse> + Send + 'static,
{
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..n {
        set.spawn(call(app.clone()));
    }
    let (mut statuses, mut with_retry_after) = (Vec::new(), 0);
    while let Some(res) = set.join_next().await {
        let res = res.unwrap();
        if res.status == StatusCode::TOO_MANY_REQUESTS
            && res.header("retry-after").and_then(|v| v.parse::<u64>().ok()).is_some_and(|s| s > 0)
        {
            with_retry_after += 1;
        }
        statuses.push(res.status);
    }
    (statuses, with_retry_after)
}

fn tally(statuses: &[StatusCode], status: StatusCode) -> usize {
    statuses.iter().filter(|s| **s == status).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_wrong_sign_ins_get_at_most_the_limit_checked() {
    // ASVS-B1: the limit holds under a race, and refusals take nothing from
    // the account's own budget (no malicious lock-out from elsewhere).
    let app = Arc::new(spawn().await);
    let (statuses, with_retry_after) = concurrently(&app, 40, |app| async move {
        app.server_fn("login", &[("username", "admin"), ("password", "guess guess guess")], None).await
    })
    .await;
    let checked = tally(&statuses, StatusCode::UNAUTHORIZED);
    let throttled = tally(&statuses, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(checked, 5, "{statuses:?}");
    assert_eq!(checked + throttled, 40, "{statuses:?}");
    assert_eq!(with_retry_after, throttled, "every refusal says when to come back");
    let audited =
        count(&app, "select count(*) from audit_events where event = 'session.sign_in' and outcome = 'failure'").await;
    assert_eq!(audited, checked as i64, "only the checked attempts reached the password hash");
    let per_account = count(&app, "select failures from throttle where key = 'login:user:admin'").await;
    assert_eq!(per_account, checked as i64, "the refused attempts gave their account slot back");

    let elsewhere = app
        .server_fn_from("login", &[("username", "admin"), ("password", ADMIN_PASSWORD)], None, "192.0.2.44:1234")
        .await;
    assert_eq!(elsewhere.status, StatusCode::OK);
}

#[tokio::test]
async fn sign_ins_from_one_ipv6_64_share_a_throttle() {
    let app = spawn().await;
    for n in 1..=5 {
        let peer = format!("[2001:db8:7:7::{n:x}]:4000");
        let res =
            app.server_fn_from("login", &[("username", "admin"), ("password", "guess guess guess")], None, &peer).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    }
    let same_64 = "[2001:db8:7:7:ffff:1:2:3]:4000";
    let res = app.server_fn_from("login", &[("username", "admin"), ("password", ADMIN_PASSWORD)], None, same_64).await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS, "another interface id of the same /64");
    let other_64 = "[2001:db8:7:8::1]:4000";
    let res = app.server_fn_from("login", &[("username", "admin"), ("password", ADMIN_PASSWORD)], None, other_64).await;
    assert_eq!(res.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_wrong_client_authentications_get_at_most_the_limit_checked() {
    // AUTH-16, R6749-17 under a race.
    let app = Arc::new(spawn().await);
    let c = client(&app).await;
    let wrong = basic(&c.id, "acs_guess");
    let (statuses, with_retry_after) = concurrently(&app, 60, move |app| {
        let wrong = wrong.clone();
        async move { post(&app, "/oauth/token", Some(&wrong), &GRANT).await }
    })
    .await;
    let checked = tally(&statuses, StatusCode::UNAUTHORIZED);
    let throttled = tally(&statuses, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(checked, PER_CLIENT_AND_ADDRESS.limit as usize, "{statuses:?}");
    assert_eq!(checked + throttled, 60);
    assert_eq!(with_retry_after, throttled);
    let key = format!("{THROTTLE_PREFIX}ip:127.0.0.1");
    let per_address: i64 = sqlx::query_scalar("select failures from throttle where key = $1")
        .bind(&key)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(per_address, checked as i64, "refusals took nothing from the address's budget");
    assert_eq!(token(&app, &c, &[]).await.status, StatusCode::TOO_MANY_REQUESTS, "the right secret waits too");
    let other = post_from(&app, "198.51.100.7:4000", &[], "/oauth/token", Some(&basic(&c.id, &c.secret)), &GRANT).await;
    assert_eq!(other.status, StatusCode::OK, "not locked out from elsewhere");
}

#[tokio::test]
async fn successful_client_authentications_never_fill_the_throttle() {
    let app = spawn().await;
    let c = client(&app).await;
    for _ in 0..(PER_ADDRESS.limit + 5) {
        assert_eq!(token(&app, &c, &[]).await.status, StatusCode::OK);
    }
    assert_eq!(count(&app, "select count(*) from throttle").await, 0, "no database write for a success");
}

#[tokio::test]
async fn two_instances_share_the_client_authentication_limit() {
    // The limit is the cluster's: the failures of one instance count on the
    // other (docs/security.md states the bound: one attempt per instance).
    let a = spawn().await;
    let c = client(&a).await;
    let b = a.another_instance().await;
    let wrong = basic(&c.id, "acs_guess");
    let limit = PER_CLIENT_AND_ADDRESS.limit;
    // Alternate between the instances, as a load balancer would.
    let mut checked = 0;
    for n in 0..(2 * limit) {
        let on = if n % 2 == 0 { &a } else { &b };
        let res = post(on, "/oauth/token", Some(&wrong), &GRANT).await;
        match res.status {
            StatusCode::UNAUTHORIZED => checked += 1,
            StatusCode::TOO_MANY_REQUESTS => {}
            other => panic!("{other}: {}", res.body),
        }
    }
    assert!(checked <= limit + 1, "at most the limit plus one attempt on the other instance: {checked}");
    for on in [&a, &b] {
        assert_eq!(token(on, &c, &[]).await.status, StatusCode::TOO_MANY_REQUESTS, "both honour the block");
    }

    // A third instance that has seen nothing learns the block from its poll.
    let third = a.another_instance().await;
    let now = third.now();
    third
        .state
        .oauth_failures
        .poll(&third.state.db.pool, THROTTLE_PREFIX, PER_CLIENT_AND_ADDRESS.limit, WINDOW, now)
        .await
        .unwrap();
    assert_eq!(token(&third, &c, &[]).await.status, StatusCode::TOO_MANY_REQUESTS, "a polled block holds");
    a.clock.advance(WINDOW + 1);
    assert_eq!(token(&third, &c, &[]).await.status, StatusCode::OK, "and ends with its window");
}

#[tokio::test]
async fn client_authentications_from_one_ipv6_64_share_a_throttle() {
    let app = spawn().await;
    let c = client(&app).await;
    let wrong = basic(&c.id, "acs_guess");
    for n in 0..PER_CLIENT_AND_ADDRESS.limit {
        let peer = format!("[2001:db8:5:5::{:x}]:4000", n + 1);
        assert_eq!(
            post_from(&app, &peer, &[], "/oauth/token", Some(&wrong), &GRANT).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let right = basic(&c.id, &c.secret);
    let same = post_from(&app, "[2001:db8:5:5:abcd::9]:4000", &[], "/oauth/token", Some(&right), &GRANT).await;
    assert_eq!(same.status, StatusCode::TOO_MANY_REQUESTS);
    let other = post_from(&app, "[2001:db8:5:6::1]:4000", &[], "/oauth/token", Some(&right), &GRANT).await;
    assert_eq!(other.status, StatusCode::OK);
}

#[tokio::test]
async fn a_flood_of_refused_token_requests_writes_a_handful_of_rows() {
    let app = spawn().await;
    let c = client(&app).await;
    let events_before = count(&app, "select count(*) from audit_events").await;
    let wrong = basic(&c.id, "acs_guess");
    let unknown = basic("no-such-client", "acs_guess");
    for n in 0..1_000 {
        let auth = if n % 2 == 0 { &wrong } else { &unknown };
        let res = post(&app, "/oauth/token", Some(auth), &GRANT).await;
        assert!(matches!(res.status, StatusCode::UNAUTHORIZED | StatusCode::TOO_MANY_REQUESTS), "{}", res.status);
    }
    assert_eq!(count(&app, "select count(*) from audit_events").await, events_before, "nothing written yet");
    app.flush_refusals().await;
    let events = count(&app, "select count(*) from audit_events").await - events_before;
    let rows = count(&app, "select count(*) from token_refusals").await;
    assert!(events <= 2, "one event for the credential, one for the unknown id: {events}");
    assert!(rows <= 4, "per minute, client id and reason: {rows}");
    assert_eq!(
        count(&app, "select cast(sum(requests) as bigint) from token_refusals").await,
        1_000,
        "every refusal is counted"
    );

    // The Auditor still finds them: a chained event naming the credential.
    let e: (Option<String>, String, Option<String>) = sqlx::query_as(
        "select target_id, details, ip from audit_events where event = 'token.refused' and target_id is not null",
    )
    .fetch_one(&app.state.db.pool)
    .await
    .unwrap();
    assert_eq!(e.0.as_deref(), Some(c.id.as_str()));
    assert_eq!(e.2.as_deref(), Some("127.0.0.1"));
    let details: serde_json::Value = serde_json::from_str(&e.1).unwrap();
    // The checked failures name the credential; the throttled requests were
    // refused before any lookup, so they count under the client id alone.
    assert_eq!(details["count"], PER_CLIENT_AND_ADDRESS.limit, "{details}");
    let reasons: Vec<&str> =
        details["requests"].as_array().unwrap().iter().map(|r| r["error"].as_str().unwrap()).collect();
    assert!(reasons.contains(&"invalid_client"), "{details}");
    assert!(matches!(
        app::backend::audit::verify(&app.state.db).await.unwrap(),
        app::backend::audit::Verdict::Intact { .. }
    ));
}

#[tokio::test]
async fn distinct_client_ids_past_the_cap_count_into_one_overflow_row() {
    use app::backend::refusals::{MAX_KEYS_PER_MINUTE, OVERFLOW};
    let app = spawn().await;
    // Addresses spread so the per-address throttle lets them all through.
    let n = MAX_KEYS_PER_MINUTE + 300;
    for i in 0..n {
        let peer = format!("10.{}.{}.1:4000", i / 250, i % 250);
        let res =
            post_from(&app, &peer, &[], "/oauth/token", Some(&basic(&format!("guess-{i}"), "acs_x")), &GRANT).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    }
    app.flush_refusals().await;
    let rows = count(&app, "select count(*) from token_refusals").await;
    assert!(rows <= MAX_KEYS_PER_MINUTE as i64 + 2, "{rows}");
    let overflow: i64 =
        sqlx::query_scalar("select cast(sum(requests) as bigint) from token_refusals where address = $1")
            .bind(OVERFLOW)
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
    assert!(overflow >= 300, "{overflow}");
    assert_eq!(count(&app, "select cast(sum(requests) as bigint) from token_refusals").await, n as i64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_right_secrets_from_one_client_is_never_throttled() {
    // More requests at once than any limit: a healthy client with a pool
    // of workers is never slowed (the benchmark drives 64 connections).
    let app = Arc::new(spawn().await);
    let c = client(&app).await;
    let auth = basic(&c.id, &c.secret);
    let (statuses, _) = concurrently(&app, 150, move |app| {
        let auth = auth.clone();
        async move { post(&app, "/oauth/token", Some(&auth), &GRANT).await }
    })
    .await;
    assert_eq!(tally(&statuses, StatusCode::OK), 150, "{statuses:?}");
}
