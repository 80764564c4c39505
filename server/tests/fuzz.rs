//! Property-based fuzzing of everything that parses
//! attacker-controlled input on the OAuth and API surfaces: the token
//! endpoint's form body and `Authorization: Basic` header, the client
//! authentication decision, and the bearer header. No input may panic, and
//! what is accepted must be what was meant.
//!
//!     PROPTEST_CASES=20000 cargo test -p server --test fuzz
//!
//! (`scripts/test` runs it with a bounded number of cases.)

mod common;

use appcred_server::api::bearer_token;
use appcred_server::oauth::form::{client_auth, form_urldecode, parse_basic, parse_form, ClientAuth};
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use common::form_encode;
use proptest::prelude::*;

fn parts_with(authorization: &[u8], query: &str) -> Option<axum::http::request::Parts> {
    let value = header::HeaderValue::from_bytes(authorization).ok()?;
    let uri = format!("/api/v1/me?{}", form_encode(query));
    Some(Request::get(uri).header(header::AUTHORIZATION, value).body(()).ok()?.into_parts().0)
}

proptest! {
    #[test]
    fn form_bodies_never_panic_and_never_keep_empty_values(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(params) = parse_form(&body) {
            for name in ["grant_type", "scope", "client_id", "client_secret", "token"] {
                prop_assert!(params.get(name).is_none_or(|v| !v.is_empty()));
            }
        }
    }

    #[test]
    fn form_encoded_values_decode_to_themselves(value in any::<String>()) {
        prop_assert_eq!(form_urldecode(&form_encode(&value)), Some(value.clone()));
        let body = format!("grant_type=client_credentials&scope={}", form_encode(&value));
        let params = parse_form(body.as_bytes()).unwrap();
        prop_assert_eq!(params.get("scope"), (!value.is_empty()).then_some(value.as_str()));
    }

    #[test]
    fn arbitrary_percent_escapes_never_panic(s in "[%0-9a-fA-F+gz ]{0,40}") {
        let _ = form_urldecode(&s);
    }

    #[test]
    fn basic_headers_never_panic(header in any::<String>()) {
        let _ = parse_basic(&header);
    }

    #[test]
    fn basic_credentials_round_trip_through_encoding(
        id in "[^\u{0}]{1,60}",
        secret in "[^\u{0}]{1,80}",
        scheme in "[bB][aA][sS][iI][cC]",
    ) {
        let raw = format!("{}:{}", form_encode(&id), form_encode(&secret));
        let parsed = parse_basic(&format!("{scheme} {}", STANDARD.encode(raw))).unwrap();
        prop_assert_eq!(&parsed.client_id, &id);
        prop_assert_eq!(&parsed.secret, &secret);
    }

    #[test]
    fn base64_garbage_never_authenticates(junk in "[A-Za-z0-9+/=]{0,80}") {
        if let Ok(c) = parse_basic(&format!("Basic {junk}")) {
            // whatever decoded must have been a well-formed id:secret pair
            prop_assert!(!c.client_id.is_empty() && !c.secret.is_empty());
            let text = String::from_utf8(STANDARD.decode(junk.trim()).unwrap()).unwrap();
            prop_assert!(text.contains(':'));
        }
    }

    #[test]
    fn client_authentication_never_panics_and_never_mixes_methods(
        header in proptest::option::of(any::<String>()),
        body in proptest::collection::vec(any::<u8>(), 0..256),
    ) {
        if let Ok(params) = parse_form(&body) {
            if let Ok(ClientAuth::Basic(_)) = client_auth(header.as_deref(), &params) {
                prop_assert!(params.get("client_secret").is_none(), "R6749-13: one method only");
            }
        }
    }

    #[test]
    fn bearer_headers_never_panic_and_accept_only_b64token(
        value in proptest::collection::vec(32u8..127, 0..120),
        query in any::<String>(),
    ) {
        if let Some(parts) = parts_with(&value, &query) {
            if let Ok(token) = bearer_token(&parts) {
                let body = token.trim_end_matches('=');
                prop_assert!(!body.is_empty());
                prop_assert!(body.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b)));
            }
        }
    }
}

/// The whole token endpoint, through the real router: random bodies,
/// headers and content types always get a JSON 4xx (never a 5xx, never a
/// token). Fewer cases: each one is a full request.
#[test]
fn the_token_endpoint_answers_any_request_with_a_client_error() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let app = runtime.block_on(common::spawn());
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse::<u32>().ok()).unwrap_or(256) / 8;
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(cases.max(32)));
    let strategy = (
        proptest::collection::vec(any::<u8>(), 0..300),
        proptest::option::of("[ -~]{0,120}"),
        proptest::option::of(prop_oneof![
            Just("application/x-www-form-urlencoded".to_string()),
            Just("application/json".to_string()),
            "[ -~]{0,40}",
        ]),
        prop_oneof![Just("/oauth/token"), Just("/oauth/introspect"), Just("/oauth/revoke")],
    );
    runner
        .run(&strategy, |(body, authorization, content_type, path)| {
            let mut b = Request::post(path);
            if let Some(a) = authorization.as_deref() {
                b = b.header(header::AUTHORIZATION, a);
            }
            if let Some(c) = content_type.as_deref() {
                b = b.header(header::CONTENT_TYPE, c);
            }
            let res = runtime.block_on(app.send(b.body(Body::from(body)).unwrap()));
            prop_assert!(res.status.is_client_error(), "{} {}", res.status, res.body);
            prop_assert!(res.status != StatusCode::OK);
            let json: serde_json::Value = serde_json::from_str(&res.body).unwrap();
            prop_assert!(json["error"].is_string(), "{}", res.body);
            prop_assert!(json.get("access_token").is_none());
            Ok(())
        })
        .unwrap();
}
