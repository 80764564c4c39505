//! When a token dies: expiry, idleness, regeneration, deletion, lost roles,
//! deactivation, changes on another instance, and the purge of dead rows.

use super::*;
use crate::common::*;
use app::backend::caller::Caller;
use app::backend::credentials::service::{self as credentials, CredentialInput};
use app::backend::users::service as users;
use app::model::{format_date, Role, SECS_PER_DAY};
use axum::http::StatusCode;

#[tokio::test]
async fn a_token_dies_at_its_absolute_expiry() {
    // LC-01
    let app = spawn().await;
    let c = setup(&app, &["work_creator"]).await;
    let t = access_token(&app, &c).await;
    for _ in 0..6 {
        app.clock.advance(599);
        assert_alive(&app, &t).await;
    }
    app.clock.advance(7);
    assert_dead(&app, &t).await;
    assert_inactive_and_revocable(&app, &c, &t).await;
}

#[tokio::test]
async fn a_token_dies_when_idle_past_the_timeout_and_use_keeps_it_alive() {
    // LC-02: idle 1200 s by default
    let app = spawn().await;
    let c = setup(&app, &["work_creator"]).await;
    let t = access_token(&app, &c).await;
    app.clock.advance(1199);
    assert_alive(&app, &t).await;
    app.clock.advance(1199);
    assert_alive(&app, &t).await;
    app.clock.advance(1201);
    assert_dead(&app, &t).await;
    // LC-06: once dead, nothing revives it, not even a clock stepped back
    app.clock.advance(-2000);
    assert_dead(&app, &t).await;
    let reason: String =
        sqlx::query_scalar("select revoked_reason from tokens").fetch_one(&app.state.db.pool).await.unwrap();
    assert_eq!(reason, "idle");
}

#[tokio::test]
async fn regenerating_the_secret_kills_the_old_secret_and_its_tokens() {
    // LC-04
    let app = spawn().await;
    let c = setup(&app, &["work_creator"]).await;
    let t = access_token(&app, &c).await;
    let owner = owner(&app).await;
    let fresh = credentials::regenerate(&app.state, &owner, &c.id).await.unwrap();
    assert_dead(&app, &t).await;
    let res = token(&app, &c, &[]).await;
    assert_oauth_error(&res, StatusCode::UNAUTHORIZED, "invalid_client");
    let new = Client { id: c.id.clone(), secret: fresh.secret };
    let t2 = access_token(&app, &new).await;
    assert_alive(&app, &t2).await;
}

#[tokio::test]
async fn deleting_or_expiring_a_credential_kills_it_everywhere() {
    // LC-05
    let app = spawn().await;
    let c = setup(&app, &["work_creator"]).await;
    let t = access_token(&app, &c).await;
    app.clock.advance(31 * SECS_PER_DAY);
    assert_dead(&app, &t).await;
    let auth = basic(&c.id, &c.secret);
    assert_oauth_error(&token(&app, &c, &[]).await, StatusCode::UNAUTHORIZED, "invalid_client");
    for endpoint in ["/oauth/introspect", "/oauth/revoke"] {
        let res = post(&app, endpoint, Some(&auth), &[("token", &t)]).await;
        assert_oauth_error(&res, StatusCode::UNAUTHORIZED, "invalid_client");
    }

    let app = spawn().await;
    let c = setup(&app, &["work_creator"]).await;
    let t = access_token(&app, &c).await;
    // deleted by another instance: seen at this instance's next epoch poll
    sqlx::query("update credentials set deleted_at = 1").execute(&app.state.db.pool).await.unwrap();
    app.changed_elsewhere().await;
    assert_dead(&app, &t).await;
    assert_oauth_error(&token(&app, &c, &[]).await, StatusCode::UNAUTHORIZED, "invalid_client");
    for endpoint in ["/oauth/introspect", "/oauth/revoke"] {
        let res = post(&app, endpoint, Some(&basic(&c.id, &c.secret)), &[("token", &t)]).await;
        assert_oauth_error(&res, StatusCode::UNAUTHORIZED, "invalid_client");
    }

    // deleted by its owner on this instance: dead at the very next request,
    // and its tokens marked with the reason in the same transaction
    let app = spawn().await;
    let c = setup(&app, &["work_creator"]).await;
    let t = access_token(&app, &c).await;
    credentials::delete(&app.state, &owner(&app).await, &c.id).await.unwrap();
    assert_dead(&app, &t).await;
    assert_oauth_error(&token(&app, &c, &[]).await, StatusCode::UNAUTHORIZED, "invalid_client");
    let reason: Option<String> =
        sqlx::query_scalar("select revoked_reason from tokens").fetch_one(&app.state.db.pool).await.unwrap();
    assert_eq!(reason.as_deref(), Some("credential_deleted"));
}

#[tokio::test]
async fn under_the_narrow_rule_losing_a_role_kills_only_the_tokens_that_carry_it() {
    // LC-03, ASVS-A4. The default rule ends every token of the user
    // (`revocation.rs`); this is the other General Setting.
    let app = spawn().await;
    sqlx::query("update settings set role_change_ends = 'tokens_with_removed_role'")
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    let c = setup(&app, &["work_creator", "team_leader"]).await;
    let both = access_token(&app, &c).await;
    let only_wc =
        json(&token(&app, &c, &[("scope", "work_creator")]).await)["access_token"].as_str().unwrap().to_string();
    users::revoke_role(&app.state, &Caller::Operator, &alice(&app).await, Role::TeamLeader).await.unwrap();
    assert_dead(&app, &both).await;
    assert_inactive_and_revocable(&app, &c, &both).await;
    assert_alive(&app, &only_wc).await;
    let res = token(&app, &c, &[("scope", "team_leader")]).await;
    assert_oauth_error(&res, StatusCode::BAD_REQUEST, "invalid_scope");
    let res = token(&app, &c, &[]).await;
    assert_eq!(json(&res)["scope"], "work_creator", "revoked roles are not assigned to new tokens");
    // granting it back helps new tokens only
    app.clock.advance(1);
    users::grant_role(&app.state, &Caller::Operator, &alice(&app).await, Role::TeamLeader).await.unwrap();
    assert_eq!(json(&token(&app, &c, &[]).await)["scope"], "work_creator team_leader");
    assert_dead(&app, &both).await;
    let reason: String = sqlx::query_scalar(
        "select revoked_reason from tokens where roles = 'work_creator team_leader' order by issued_at limit 1",
    )
    .fetch_one(&app.state.db.pool)
    .await
    .unwrap();
    assert_eq!(reason, "role_revoked");
}

#[tokio::test]
async fn deactivating_the_owner_kills_tokens_and_refuses_new_ones() {
    let app = spawn().await;
    let c = setup(&app, &["work_creator"]).await;
    let t = access_token(&app, &c).await;
    users::set_active(&app.state, &Caller::Operator, &alice(&app).await, false).await.unwrap();
    assert_dead(&app, &t).await;
    assert_oauth_error(&token(&app, &c, &[]).await, StatusCode::UNAUTHORIZED, "invalid_client");
}

#[tokio::test]
async fn narrowing_a_credentials_roles_kills_tokens_carrying_a_removed_role() {
    let app = spawn().await;
    let c = setup(&app, &["work_creator", "team_leader"]).await;
    let both = access_token(&app, &c).await;
    let only_wc =
        json(&token(&app, &c, &[("scope", "work_creator")]).await)["access_token"].as_str().unwrap().to_string();
    let owner = {
        let owner_id: String =
            sqlx::query_scalar("select owner_id from credentials").fetch_one(&app.state.db.pool).await.unwrap();
        person(&app, &owner_id).await
    };
    credentials::update(
        &app.state,
        &owner,
        &c.id,
        CredentialInput {
            name: "integration".into(),
            expires_on: format_date(app.now() + 10 * SECS_PER_DAY),
            roles: vec!["work_creator".into()],
        },
    )
    .await
    .unwrap();
    assert_dead(&app, &both).await;
    assert_alive(&app, &only_wc).await;
}

#[tokio::test]
async fn a_change_made_on_another_instance_applies_here_at_the_next_epoch_poll() {
    // LC-03 across instances: the documented bound is one poll interval
    let here = spawn().await;
    let there = here.another_instance().await;
    let c = setup(&here, &["work_creator", "team_leader"]).await;
    let t = access_token(&here, &c).await;
    here.state.db.poll_epoch().await.unwrap();
    assert_alive(&here, &t).await; // now cached here
    assert_alive(&there, &t).await;

    users::revoke_role(&there.state, &Caller::Operator, &alice(&there).await, Role::TeamLeader).await.unwrap();
    assert_dead(&there, &t).await;
    here.state.db.poll_epoch().await.unwrap();
    assert_dead(&here, &t).await;
    assert_oauth_error(&token(&here, &c, &[("scope", "team_leader")]).await, StatusCode::BAD_REQUEST, "invalid_scope");
}

#[tokio::test]
async fn long_expired_tokens_are_deleted_and_live_ones_kept() {
    use app::backend::tokens::service::{purge_expired, KEEP_EXPIRED_SECS};
    let app = spawn().await;
    let c = setup(&app, &["work_creator"]).await;
    let old = access_token(&app, &c).await;
    // Past the longest lifetime General Settings allow, plus the keeping time.
    app.clock.advance(SECS_PER_DAY + KEEP_EXPIRED_SECS + 60);
    // Issued now by the clock, though its key was made in the same real
    // second as `old`'s: the expiry, not the key, decides what goes.
    let fresh = access_token(&app, &c).await;
    assert_eq!(purge_expired(&app.state.db.pool, app.now()).await.unwrap(), 1);
    assert!(!stored(&app, &old).await, "the long-expired token's row is gone");
    assert!(stored(&app, &fresh).await);
    assert_alive(&app, &fresh).await;
    assert_dead(&app, &old).await;

    // Expired, but kept for a day first.
    app.clock.advance(3_600 + 1);
    assert_dead(&app, &fresh).await;
    assert_eq!(purge_expired(&app.state.db.pool, app.now()).await.unwrap(), 0);
    assert!(stored(&app, &fresh).await);
    app.clock.advance(KEEP_EXPIRED_SECS);
    assert_eq!(purge_expired(&app.state.db.pool, app.now()).await.unwrap(), 1);
    assert!(!stored(&app, &fresh).await);
}

#[tokio::test]
async fn a_large_backlog_of_expired_tokens_is_deleted_in_several_transactions() {
    use app::backend::secrets::issue_order_bound;
    use app::backend::tokens::service::purge_expired;
    let app = spawn().await;
    let c = setup(&app, &["work_creator"]).await;
    let live = access_token(&app, &c).await;
    let issued = app.now() - 3 * SECS_PER_DAY;
    let order = issue_order_bound(issued);
    let mut tx = app.state.db.pool.begin().await.unwrap();
    for i in 0..1_234 {
        sqlx::query(
            "insert into tokens (token_digest, credential_id, roles, issued_at, expires_at, last_used_at, \
             secret_version) values ($1, $2, 'work_creator', $3, $4, $3, 1)",
        )
        .bind(format!("{order}{i:064x}"))
        .bind(&c.id)
        .bind(issued)
        .bind(issued + 3_600)
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    assert_eq!(purge_expired(&app.state.db.pool, app.now()).await.unwrap(), 1_234);
    let left: i64 = sqlx::query_scalar("select count(*) from tokens").fetch_one(&app.state.db.pool).await.unwrap();
    assert_eq!(left, 1);
    assert_alive(&app, &live).await;
}
