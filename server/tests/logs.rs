//! No secret, password or token reaches the logs (ASVS-K4, V16.2.5): the
//! logs of a whole run (sign-in, failed sign-in, create, token, API call,
//! failed client authentication, introspection, revocation, regenerate,
//! delete) are captured and searched for every secret value used.

// A binary of its own: the tests capture logs with a thread-local subscriber,
// and tracing caches whether a callsite is enabled process-wide, so tests on
// other threads of one binary can hide a span from the capture.
mod common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use std::io::Write;
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

fn capture_logs() -> (Capture, tracing::subscriber::DefaultGuard) {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(capture.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .finish();
    (capture.clone(), tracing::subscriber::set_default(subscriber))
}

#[tokio::test]
async fn a_full_run_logs_no_secret_password_or_token() {
    let (capture, _guard) = capture_logs();

    let app = common::spawn().await;
    app.create_user("plain", "a long secret phrase", &[app::model::Role::WorkCreator]).await;
    let password = "correct horse battery staple";
    let wrong_password = "wrong-password-value-123";
    assert_eq!(
        app.server_fn("login", &[("username", "admin"), ("password", wrong_password)], None).await.status,
        StatusCode::UNAUTHORIZED
    );
    let cookie = app.sign_in("admin", password).await;
    let expires = app::model::format_date(app.now() + 30 * 86_400);
    let res = app
        .server_fn(
            "credentials/create",
            &[("name", "Logged run"), ("expires_on", &expires), ("roles[]", "work_creator")],
            Some(&cookie),
        )
        .await;
    let created: serde_json::Value = serde_json::from_str(&res.body).unwrap();
    let id = created["client_id"].as_str().unwrap().to_string();
    let secret = created["secret"].as_str().unwrap().to_string();

    let form = |pairs: &[(&str, &str)]| Body::from(common::encode_form(pairs));
    let basic = format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")));
    let token_res = app
        .send(
            Request::post("/oauth/token")
                .header(header::AUTHORIZATION, &basic)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(form(&[("grant_type", "client_credentials")]))
                .unwrap(),
        )
        .await;
    let token = serde_json::from_str::<serde_json::Value>(&token_res.body).unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    app.send(
        Request::get("/api/v1/me")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    let wrong_secret = "acs_wrongsecretvalue";
    app.send(
        Request::post("/oauth/token")
            .header(header::AUTHORIZATION, format!("Basic {}", STANDARD.encode(format!("{id}:{wrong_secret}"))))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form(&[("grant_type", "client_credentials")]))
            .unwrap(),
    )
    .await;
    for path in ["/oauth/introspect", "/oauth/revoke"] {
        app.send(
            Request::post(path)
                .header(header::AUTHORIZATION, &basic)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(form(&[("token", &token)]))
                .unwrap(),
        )
        .await;
    }
    let res = app.server_fn("credentials/regenerate", &[("id", &id)], Some(&cookie)).await;
    let regenerated: serde_json::Value = serde_json::from_str(&res.body).unwrap();
    let new_secret = regenerated["secret"].as_str().unwrap().to_string();
    app.server_fn("credentials/delete", &[("id", &id)], Some(&cookie)).await;

    // a refused call is logged with who and where (ASVS-L2)
    let res = app.server_fn("users/list", &[], Some(&app.sign_in("plain", "a long secret phrase").await)).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    let refused = logs.lines().find(|l| l.contains("access_refused")).expect("the refusal is logged");
    assert!(refused.contains("path=/admin/fn/users/list") && refused.contains("ip=127.0.0.1"), "{refused}");
    assert!(
        logs.contains("sign_in") && logs.contains("token_issued") && logs.contains("client_auth"),
        "the run was logged"
    );
    // every line of a request names it (ASVS V16.2.1)
    let request_id = token_res.header("x-request-id").expect("the response names its request");
    assert_eq!(request_id.len(), 36, "a UUID: {request_id}");
    let issued = logs.lines().find(|l| l.contains("token_issued")).expect("a token_issued line");
    assert!(issued.contains(&format!("request_id={request_id}")), "{issued}");
    let session_value = cookie.split('=').nth(1).unwrap();
    for (what, value) in [
        ("password", password),
        ("wrong password", wrong_password),
        ("client secret", secret.as_str()),
        ("regenerated secret", new_secret.as_str()),
        ("wrong secret", wrong_secret),
        ("access token", token.as_str()),
        ("session id", session_value),
        ("Basic header", basic.trim_start_matches("Basic ")),
    ] {
        assert!(!logs.contains(value), "the {what} appears in the logs");
    }
}

#[tokio::test]
async fn a_secret_sent_as_the_client_id_is_neither_logged_nor_audited() {
    // A client that swaps its id and secret sends its `acs_…` secret as the
    // client id; a token pasted into a username field is the same mistake.
    let (capture, _guard) = capture_logs();
    let app = common::spawn().await;
    let owner = app.create_user("swapper", "a long secret phrase", &[app::model::Role::WorkCreator]).await;
    let c = common::credential_for(&app, &owner, "Swapped", &["work_creator"]).await;
    let token = common::access_token(&app, &c).await;
    for (id, secret) in [(c.secret.as_str(), c.id.as_str()), (token.as_str(), c.secret.as_str())] {
        for auth in [Some(common::basic(id, secret)), None] {
            let mut form = vec![("grant_type", "client_credentials")];
            if auth.is_none() {
                form.extend_from_slice(&[("client_id", id), ("client_secret", secret)]);
            }
            let res = common::post(&app, "/oauth/token", auth.as_deref(), &form).await;
            assert_eq!(res.status.as_u16() / 100, 4, "{}", res.body);
        }
    }
    let res = app.server_fn("login", &[("username", &token), ("password", "x")], None).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);

    app.flush_refusals().await; // refused requests reach the audit log counted per minute
    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("client_auth"), "the refusals were logged");
    let body = |v: &str| v[4..].to_string();
    for (what, value) in [("secret", body(&c.secret)), ("token", body(&token))] {
        assert!(!logs.contains(&value[..16]), "the {what} sent as a client id appears in the logs");
        let events = app::backend::audit::recent(&app.state.db.pool, 1000).await.unwrap();
        assert!(events.iter().any(|e| e.event == "token.refused"), "the refusals were audited");
        for e in events {
            let row = format!("{e:?}");
            assert!(!row.contains(&value[..16]), "the {what} appears in audit event {}: {row}", e.seq);
        }
    }
}
