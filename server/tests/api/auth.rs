//! Sign-in, sessions and the page guard (ASVS V7, docs/asvs.md).

use crate::common::{spawn, spawn_with, Options, ADMIN_PASSWORD};
use app::backend::auth::session_store::DbSessionStore;
use app::backend::settings;
use app::model::Role;
use axum::http::{header, StatusCode};

#[tokio::test]
async fn signing_in_with_the_right_password_starts_a_session() {
    let app = spawn().await;
    let cookie = app.sign_in_admin().await;
    assert_eq!(app.whoami(&cookie).await.as_deref(), Some("admin"));
}

#[tokio::test]
async fn usernames_are_matched_case_insensitively_passwords_exactly() {
    let app = spawn().await;
    let res = app.server_fn("login", &[("username", "ADMIN"), ("password", ADMIN_PASSWORD)], None).await;
    assert_eq!(res.status, StatusCode::OK);
    let res =
        app.server_fn("login", &[("username", "admin"), ("password", &ADMIN_PASSWORD.to_uppercase())], None).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_user_get_the_same_answer() {
    // ASVS-P5: no user enumeration through the message or the status
    let app = spawn().await;
    let wrong = app.server_fn("login", &[("username", "admin"), ("password", "not the password")], None).await;
    let unknown = app.server_fn("login", &[("username", "nobody"), ("password", "not the password")], None).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.status, unknown.status);
    assert_eq!(wrong.body, unknown.body);
    assert!(wrong.session_cookie().is_none(), "a failed sign-in starts no session");
    assert!(!wrong.body.contains("not the password"));
}

#[tokio::test]
async fn a_deactivated_user_cannot_sign_in_and_gets_the_generic_answer() {
    let app = spawn().await;
    let id = app.create_user("carol", "a long secret phrase", &[Role::ServiceAgent]).await;
    sqlx::query("update users set active = 0 where id = $1").bind(&id).execute(&app.state.db.pool).await.unwrap();
    let res = app.server_fn("login", &[("username", "carol"), ("password", "a long secret phrase")], None).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert!(res.body.contains("InvalidCredentials"), "{}", res.body);
}

#[tokio::test]
async fn the_session_cookie_is_http_only_and_same_site_strict() {
    // ASVS-S1, ASVS-S2
    let app = spawn().await;
    let res = app.server_fn("login", &[("username", "admin"), ("password", ADMIN_PASSWORD)], None).await;
    let cookie = res.set_cookies().into_iter().find(|c| c.starts_with("appcred_session=")).expect("cookie");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    assert!(cookie.contains("Path=/"), "{cookie}");
    assert!(!cookie.contains("Domain="), "{cookie}");
}

#[tokio::test]
async fn over_https_the_cookie_is_secure_and_host_prefixed() {
    // ASVS-S1: __Host- implies Secure, Path=/ and no Domain
    let app = spawn_with(Options { secure_cookies: true, ..Default::default() }).await;
    let res = app.server_fn("login", &[("username", "admin"), ("password", ADMIN_PASSWORD)], None).await;
    let cookie = res.set_cookies().into_iter().find(|c| c.starts_with("__Host-appcred_session=")).expect("cookie");
    assert!(cookie.contains("Secure") && cookie.contains("HttpOnly") && cookie.contains("Path=/"), "{cookie}");
    assert_eq!(res.header("strict-transport-security"), Some("max-age=31536000; includeSubDomains"));
}

#[tokio::test]
async fn signing_in_again_issues_a_new_session_id_and_kills_the_old_one() {
    // ASVS-S4: session id cycled at sign-in
    let app = spawn().await;
    let first = app.sign_in_admin().await;
    let res = app.server_fn("login", &[("username", "admin"), ("password", ADMIN_PASSWORD)], Some(&first)).await;
    assert_eq!(res.status, StatusCode::OK);
    let second = res.session_cookie().expect("new cookie");
    assert_ne!(first, second);
    assert_eq!(app.whoami(&first).await, None, "the pre-login id is dead");
    assert_eq!(app.whoami(&second).await.as_deref(), Some("admin"));
}

#[tokio::test]
async fn a_forged_session_id_is_not_a_session() {
    // ASVS-S3
    let app = spawn().await;
    assert_eq!(app.whoami("appcred_session=AAAAAAAAAAAAAAAAAAAAAA").await, None);
    assert_eq!(app.whoami("appcred_session=not-base64!").await, None);
}

#[tokio::test]
async fn signing_out_destroys_the_session_on_the_server() {
    // ASVS-S6: replaying the old cookie after sign-out is unauthenticated
    let app = spawn().await;
    let cookie = app.sign_in_admin().await;
    let res = app.server_fn("logout", &[], Some(&cookie)).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(app.whoami(&cookie).await, None);
    let page = app.get("/", Some(&cookie)).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn an_idle_session_expires_after_the_idle_timeout() {
    // ASVS-S5 (idle), with the injectable clock
    let app = spawn().await;
    let s = settings::repo::load(&app.state.db.pool).await.unwrap();
    let cookie = app.sign_in_admin().await;
    app.clock.advance(s.session_idle_secs - 5);
    assert_eq!(app.whoami(&cookie).await.as_deref(), Some("admin"), "still inside the idle window");
    app.clock.advance(s.session_idle_secs - 5);
    assert_eq!(app.whoami(&cookie).await.as_deref(), Some("admin"), "the previous use reset the idle timer");
    app.clock.advance(s.session_idle_secs + 1);
    assert_eq!(app.whoami(&cookie).await, None, "idle past the timeout");
}

#[tokio::test]
async fn an_active_session_still_ends_at_the_absolute_limit() {
    // ASVS-S5 (absolute)
    let app = spawn().await;
    let s = settings::repo::load(&app.state.db.pool).await.unwrap();
    let cookie = app.sign_in_admin().await;
    let step = s.session_idle_secs / 2;
    let mut elapsed = 0;
    while elapsed + step <= s.session_absolute_secs {
        app.clock.advance(step);
        elapsed += step;
        assert_eq!(app.whoami(&cookie).await.as_deref(), Some("admin"), "alive at {elapsed}s");
    }
    app.clock.advance(s.session_absolute_secs - elapsed + 1);
    assert_eq!(app.whoami(&cookie).await, None, "past the absolute limit although active");
}

#[tokio::test]
async fn an_expired_session_lands_on_sign_in_and_comes_back_to_the_page() {
    let app = spawn().await;
    let s = settings::repo::load(&app.state.db.pool).await.unwrap();
    let cookie = app.sign_in_admin().await;
    app.clock.advance(s.session_idle_secs + 1);
    let res = app.get("/some/page?tab=2", Some(&cookie)).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.header("location"), Some("/login?next=/some/page%3Ftab%3D2&expired=1"));
}

#[tokio::test]
async fn pages_need_a_session_except_sign_in() {
    let app = spawn().await;
    let res = app.get("/", None).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.header("location"), Some("/login"));
    let res = app.get("/login", None).await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(res.body.contains("Sign in"));
    let cookie = app.sign_in_admin().await;
    let res = app.get("/", Some(&cookie)).await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(res.body.contains("Administrator"), "the shell shows the user's name");
    let res = app.get("/login", Some(&cookie)).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "signed-in users skip the sign-in page");
}

#[tokio::test]
async fn the_sign_in_redirect_only_follows_local_paths() {
    let app = spawn().await;
    for (next, expected) in [("/users?x=1", "/users?x=1"), ("https://evil.example/", "/"), ("//evil.example", "/")] {
        let res =
            app.server_fn("login", &[("username", "admin"), ("password", ADMIN_PASSWORD), ("next", next)], None).await;
        assert_eq!(res.status, StatusCode::OK);
        assert_eq!(res.header("location"), Some(expected), "next={next}");
    }
}

#[tokio::test]
async fn a_plain_form_post_without_javascript_signs_in_and_redirects() {
    let app = spawn().await;
    let req = axum::http::Request::post("/admin/fn/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "text/html")
        .header(header::REFERER, "http://appcred.test/login?next=/x")
        .body(axum::body::Body::from(crate::common::encode_form(&[
            ("username", "admin"),
            ("password", ADMIN_PASSWORD),
            ("next", "/x"),
        ])))
        .unwrap();
    let res = app.send(req).await;
    assert_eq!(res.status, StatusCode::FOUND);
    assert_eq!(res.header("location"), Some("/x"));
    assert!(res.session_cookie().is_some());

    let req = axum::http::Request::post("/admin/fn/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "text/html")
        .header(header::REFERER, "http://appcred.test/login")
        .body(axum::body::Body::from(crate::common::encode_form(&[
            ("username", "admin"),
            ("password", "wrong password!"),
        ])))
        .unwrap();
    let res = app.send(req).await;
    assert_eq!(res.status, StatusCode::FOUND, "the error travels back to the form");
    let location = res.header("location").unwrap();
    assert!(location.starts_with("http://appcred.test/login?") && location.contains("__err="), "{location}");
    assert!(!location.contains("wrong"), "the submitted password is never reflected");
}

#[tokio::test]
async fn failed_sign_ins_are_throttled_per_account_and_address_without_lockout() {
    // ASVS-B1: 429-equivalent after repeated failures, other addresses still
    // served, and the block lifts when the window ends.
    let app = spawn().await;
    for _ in 0..5 {
        let res = app.server_fn("login", &[("username", "admin"), ("password", "guess guess guess")], None).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    }
    let res = app.server_fn("login", &[("username", "admin"), ("password", ADMIN_PASSWORD)], None).await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS, "even the right password waits: {}", res.body);
    let wait: u64 = res.header("retry-after").expect("Retry-After").parse().unwrap();
    assert!(wait > 0 && wait <= 15 * 60, "{wait}");
    assert!(res.body.contains("TooManyAttempts"));

    let other = app
        .server_fn_from("login", &[("username", "admin"), ("password", ADMIN_PASSWORD)], None, "192.0.2.44:1234")
        .await;
    assert_eq!(other.status, StatusCode::OK, "the legitimate user elsewhere is not locked out");

    app.clock.advance(15 * 60 + 1);
    let res = app.server_fn("login", &[("username", "admin"), ("password", ADMIN_PASSWORD)], None).await;
    assert_eq!(res.status, StatusCode::OK, "no permanent lock-out");
}

#[tokio::test]
async fn one_address_trying_many_accounts_is_throttled() {
    let app = spawn().await;
    for i in 0..30 {
        let user = format!("user{i}");
        let res = app.server_fn("login", &[("username", &user), ("password", "whatever it is")], None).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    }
    let res = app.server_fn("login", &[("username", "admin"), ("password", ADMIN_PASSWORD)], None).await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn changing_a_password_ends_every_session_of_that_user() {
    // ASVS-S8 / ASVS-S7 via the per-user session stamp
    let app = spawn().await;
    let cookie = app.sign_in_admin().await;
    app.clock.advance(1);
    let admin = app::backend::users::service::find_by_username(&app.state.db, "admin").await.unwrap();
    app::backend::users::service::set_password(
        &app.state,
        &app::backend::caller::Caller::Operator,
        &admin.id,
        Some(&app::backend::secrets::Secret::new("a brand new passphrase")),
    )
    .await
    .unwrap();
    assert_eq!(app.whoami(&cookie).await, None);
}

#[tokio::test]
async fn all_sessions_of_a_user_can_be_deleted_from_the_store() {
    let app = spawn().await;
    let a = app.sign_in_admin().await;
    let b = app
        .server_fn_from("login", &[("username", "admin"), ("password", ADMIN_PASSWORD)], None, "192.0.2.1:1")
        .await
        .session_cookie()
        .unwrap();
    let id: String = sqlx::query_scalar("select id from users where username = 'admin'")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    let deleted = DbSessionStore::new(&app.state.db).delete_for_user(&id).await.unwrap();
    assert_eq!(deleted, 2);
    assert_eq!(app.whoami(&a).await, None);
    assert_eq!(app.whoami(&b).await, None);
}

#[tokio::test]
async fn cross_site_posts_to_server_functions_are_refused() {
    // ASVS-C1: a valid cookie plus a foreign Origin changes nothing
    let app = spawn().await;
    let cookie = app.sign_in_admin().await;
    let req = axum::http::Request::post("/admin/fn/logout")
        .header(header::COOKIE, &cookie)
        .header(header::ORIGIN, "https://evil.example")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(axum::body::Body::empty())
        .unwrap();
    let res = app.send(req).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(app.whoami(&cookie).await.as_deref(), Some("admin"), "still signed in");

    let req = axum::http::Request::post("/admin/fn/logout")
        .header(header::COOKIE, &cookie)
        .header(header::ORIGIN, format!("http://{}", crate::common::HOST))
        .header("sec-fetch-site", "same-origin")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(axum::body::Body::empty())
        .unwrap();
    assert_eq!(app.send(req).await.status, StatusCode::OK);
    assert_eq!(app.whoami(&cookie).await, None);
}

#[tokio::test]
async fn server_functions_refuse_get() {
    // ASVS-C2
    let app = spawn().await;
    let cookie = app.sign_in_admin().await;
    let res = app.get("/admin/fn/logout", Some(&cookie)).await;
    assert_eq!(res.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(app.whoami(&cookie).await.as_deref(), Some("admin"));
}

#[tokio::test]
async fn responses_carry_the_security_headers() {
    // ASVS-H3, H4, H5, H6, H8
    let app = spawn().await;
    let res = app.get("/login", None).await;
    assert_eq!(res.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(res.header("referrer-policy"), Some("same-origin"));
    assert!(res.header("content-security-policy").unwrap().contains("frame-ancestors 'none'"));
    assert_eq!(res.header("cross-origin-opener-policy"), Some("same-origin"));
    assert_eq!(res.header("cache-control"), Some("no-store"));
    assert!(res.header("content-type").unwrap().contains("charset=utf-8"), "ASVS-H7");
}

#[tokio::test]
async fn pages_allow_only_scripts_with_this_responses_nonce() {
    // ASVS-H2: script-src with a fresh nonce, no 'unsafe-inline'
    let app = spawn().await;
    let nonce_of = |res: &crate::common::TestResponse| {
        let csp = res.header("content-security-policy").expect("a CSP").to_string();
        assert!(!csp.contains("'unsafe-inline'") && !csp.contains("'unsafe-eval'"), "{csp}");
        assert!(
            csp.contains("frame-ancestors 'none'")
                && csp.contains("object-src 'none'")
                && csp.contains("base-uri 'none'"),
            "{csp}"
        );
        let nonce = csp.split("'nonce-").nth(1).expect("a nonce").split('\'').next().unwrap().to_string();
        assert!(nonce.len() >= 22, "at least 128 bits: {nonce}");
        nonce
    };
    let first = app.get("/login", None).await;
    let nonce = nonce_of(&first);
    let scripts = first.body.matches("<script").count();
    assert!(scripts > 0, "the page hydrates");
    assert!(first.body.matches(&format!("nonce=\"{nonce}\"")).count() >= scripts, "every script carries it");
    assert_ne!(nonce_of(&app.get("/login", None).await), nonce, "a new nonce per response");
    // JSON and other non-page answers allow nothing at all
    let res = app.get("/api/v1/me", None).await;
    assert!(res.header("content-security-policy").unwrap().starts_with("default-src 'none'"));
}

#[tokio::test]
async fn the_health_check_answers_when_the_database_is_reachable() {
    let app = spawn().await;
    let res = app.get("/healthz", None).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.body, "ok");
}

#[tokio::test]
async fn oversized_requests_are_refused_before_they_are_read() {
    let app = spawn().await;
    let huge = "x".repeat(100 * 1024);
    let res = app.server_fn("login", &[("username", "admin"), ("password", &huge)], None).await;
    assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE);
    let body = format!("grant_type=client_credentials&pad={huge}");
    let req = axum::http::Request::post("/oauth/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::CONTENT_LENGTH, body.len())
        .body(axum::body::Body::from(body))
        .unwrap();
    assert_eq!(app.send(req).await.status, StatusCode::PAYLOAD_TOO_LARGE);

    // the same sizes sent without Content-Length (as a chunked upload)
    let streamed = |path: &str, body: String| {
        axum::http::Request::post(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::ACCEPT, "application/json")
            .body(axum::body::Body::from(body))
            .unwrap()
    };
    let res = app.send(streamed("/admin/fn/login", format!("username=admin&password={huge}"))).await;
    assert_eq!(res.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", res.body);
    let res = app.send(streamed("/oauth/token", format!("grant_type=client_credentials&pad={huge}"))).await;
    assert_eq!(res.status, StatusCode::BAD_REQUEST, "{}", res.body);
    assert!(res.body.contains("too large"), "an OAuth error saying why: {}", res.body);
    // and a small streamed form still works
    let res = app
        .send(streamed(
            "/admin/fn/login",
            format!("username=admin&password={}", crate::common::ADMIN_PASSWORD.replace(' ', "+")),
        ))
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
}

#[tokio::test]
async fn session_rows_never_hold_the_cookies_id() {
    // A read of the database (a backup, a stolen file) must not sign anyone
    // in: the store keeps a keyed digest of each id (app/src/backend/keys.rs).
    let app = spawn().await;
    let cookie = app.sign_in_admin().await;
    let id = cookie.split_once('=').unwrap().1.to_string();
    assert_eq!(app.whoami(&cookie).await.as_deref(), Some("admin"), "the cookie works");
    let rows: Vec<(String, String)> =
        sqlx::query_as("select id, data from sessions").fetch_all(&app.state.db.pool).await.unwrap();
    assert!(!rows.is_empty(), "the session is stored");
    for (stored, data) in &rows {
        assert!(!stored.contains(&id) && !data.contains(&id), "a session row holds the cookie's id");
        assert_eq!(stored.len(), 64, "a hex HMAC-SHA-256: {stored}");
    }
    // Signing out deletes the row found through the digest.
    let res = app.server_fn("logout", &[], Some(&cookie)).await;
    assert!(res.status.is_success() || res.status.is_redirection(), "{}", res.status);
    let left: i64 = sqlx::query_scalar("select count(*) from sessions").fetch_one(&app.state.db.pool).await.unwrap();
    assert_eq!(left, 0);
}
