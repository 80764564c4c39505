//! The authorization matrix (ASVS-A1..A4, docs/asvs.md): every server
//! function, every CSV export and every API endpoint, called by every kind
//! of caller, against one table of expected statuses. A refusal must not
//! leak the credential's name or secret.

use crate::common::*;
use app::model::Role;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};

const PW: &str = "a long secret phrase";

/// Who calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Caller {
    SignedOut,
    /// A user holding only this role.
    Only(Role),
    /// The owner of the target credential (holds Work Creator).
    Owner,
    /// Another user (holds Work Creator too).
    Other,
    /// A user who held every role and was deactivated after signing in.
    Deactivated,
}

/// What a caller with a given footing gets.
#[derive(Clone, Copy, Debug)]
enum Rule {
    /// Anyone signed in.
    SignedIn,
    /// Users holding this role.
    Role(Role),
    /// The credential's owner; others get 404 (no hint it exists).
    Owner,
    /// Holders of Work Creator (creating a credential with that role);
    /// other signed-in users get 422 (a role they do not hold).
    HoldsWorkCreator,
}

/// A server function, its form and its rule.
type Row<'a> = (&'a str, Vec<(&'a str, &'a str)>, Rule);

fn expected(rule: Rule, caller: Caller) -> StatusCode {
    use Caller::*;
    match (rule, caller) {
        (_, SignedOut | Deactivated) => StatusCode::UNAUTHORIZED,
        (Rule::SignedIn, _) => StatusCode::OK,
        (Rule::Role(r), Only(held)) if r == held => StatusCode::OK,
        (Rule::Role(_), _) => StatusCode::FORBIDDEN,
        (Rule::Owner, Owner) => StatusCode::OK,
        (Rule::Owner, _) => StatusCode::NOT_FOUND,
        (Rule::HoldsWorkCreator, Owner | Other | Only(Role::WorkCreator)) => StatusCode::OK,
        (Rule::HoldsWorkCreator, _) => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

#[tokio::test]
async fn every_function_and_endpoint_answers_each_caller_as_the_table_says() {
    let app = spawn().await;
    let owner_id = app.create_user("owner", PW, &[Role::WorkCreator]).await;
    app.create_user("other", PW, &[Role::WorkCreator]).await;
    let victim = app.create_user("victim", PW, &[Role::TeamLeader]).await;
    let target = credential_for(&app, &owner_id, "Target credential", &["work_creator"]).await;
    let expires = app::model::format_date(app.now() + 30 * 86_400);

    let mut callers = vec![Caller::SignedOut, Caller::Other, Caller::Deactivated];
    callers.extend(Role::ALL.into_iter().map(Caller::Only));
    callers.push(Caller::Owner); // last: the owner's calls change the credential
    let mut cookies = std::collections::HashMap::new();
    for caller in &callers {
        let cookie = match caller {
            Caller::SignedOut => String::new(),
            Caller::Owner => app.sign_in("owner", PW).await,
            Caller::Other => app.sign_in("other", PW).await,
            Caller::Only(role) => {
                let name = format!("only-{}", role.slug().replace('_', "-"));
                app.create_user(&name, PW, &[*role]).await;
                app.sign_in(&name, PW).await
            }
            Caller::Deactivated => {
                let id = app.create_user("gone", PW, &Role::ALL).await;
                let cookie = app.sign_in("gone", PW).await;
                let by = app::backend::caller::Caller::Operator;
                app::backend::users::service::set_active(&app.state, &by, &id, false).await.unwrap();
                cookie
            }
        };
        cookies.insert(format!("{caller:?}"), cookie);
    }

    let api = app::backend::protected_apis::service::create(
        &app.state,
        &app::backend::caller::Caller::Operator,
        app::backend::protected_apis::service::ProtectedApiInput {
            name: "Target API".into(),
            audience: "https://target.example.com".into(),
        },
    )
    .await
    .unwrap();
    let settings = settings_form(&[]);
    let update = vec![
        ("id", target.id.as_str()),
        ("name", "Target credential"),
        ("expires_on", expires.as_str()),
        ("roles[]", "work_creator"),
    ];
    // One row per server function: name, form, rule. Mutations are
    // idempotent for the callers allowed to make them.
    let functions: Vec<Row> = vec![
        ("credentials/list", vec![], Rule::SignedIn),
        ("credentials/form", vec![], Rule::SignedIn),
        ("credentials/get", vec![("id", &target.id)], Rule::Owner),
        ("credentials/usage", vec![("id", &target.id)], Rule::Owner),
        ("credentials/update", update.clone(), Rule::Owner),
        ("credentials/regenerate", vec![("id", &target.id)], Rule::Owner),
        ("users/list", vec![], Rule::Role(Role::UserManager)),
        ("users/get", vec![("id", &victim)], Rule::Role(Role::UserManager)),
        ("users/grant", vec![("id", &victim), ("role", "work_assigner")], Rule::Role(Role::UserManager)),
        ("users/revoke", vec![("id", &victim), ("role", "work_assigner")], Rule::Role(Role::UserManager)),
        ("users/active", vec![("id", &victim), ("active", "true")], Rule::Role(Role::UserManager)),
        ("users/password", vec![("id", &victim), ("password", "a fresh passphrase 99")], Rule::Role(Role::UserManager)),
        ("settings/get", vec![], Rule::Role(Role::Administrator)),
        ("settings/update", settings.clone(), Rule::Role(Role::Administrator)),
        ("audit/events", vec![], Rule::Role(Role::Auditor)),
        ("audit/credentials", vec![], Rule::Role(Role::Auditor)),
        ("audit/usage", vec![("id", &target.id)], Rule::Role(Role::Auditor)),
        ("protected-apis/list", vec![], Rule::Role(Role::Administrator)),
        ("protected-apis/get", vec![("id", &api.client_id)], Rule::Role(Role::Administrator)),
        (
            "protected-apis/update",
            vec![("id", &api.client_id), ("name", "Target API"), ("audience", "https://target.example.com")],
            Rule::Role(Role::Administrator),
        ),
        ("protected-apis/regenerate", vec![("id", &api.client_id)], Rule::Role(Role::Administrator)),
    ];

    let mut failures = Vec::new();
    for caller in &callers {
        let cookie = cookies[&format!("{caller:?}")].clone();
        let cookie = (!cookie.is_empty()).then_some(cookie.as_str());
        let mut rows: Vec<Row> = functions.clone();
        // creating is allowed to everyone with the role; a unique name each time
        let create_name = format!("created by {caller:?}");
        rows.push((
            "credentials/create",
            vec![("name", create_name.as_str()), ("expires_on", expires.as_str()), ("roles[]", "work_creator")],
            Rule::HoldsWorkCreator,
        ));
        let api_audience = format!("https://created.example.com/{}", create_name.replace(['(', ')', ' '], "-"));
        rows.push((
            "protected-apis/create",
            vec![("name", create_name.as_str()), ("audience", api_audience.as_str())],
            Rule::Role(Role::Administrator),
        ));
        // deleting last
        rows.push(("credentials/delete", vec![("id", target.id.as_str())], Rule::Owner));
        for (name, form, rule) in rows {
            let res = app.server_fn(name, &form, cookie).await;
            let want = expected(rule, *caller);
            if res.status != want {
                failures.push(format!("{caller:?} {name}: got {} want {want}: {}", res.status, res.body));
            }
            if res.status != StatusCode::OK
                && (res.body.contains("Target credential")
                    || res.body.contains(&target.secret)
                    || res.body.contains("Target API")
                    || res.body.contains(&api.secret))
            {
                failures.push(format!("{caller:?} {name}: a refusal leaks the credential: {}", res.body));
            }
        }
        for (path, rule) in [
            ("/audit/export/events", Rule::Role(Role::Auditor)),
            ("/audit/export/credentials", Rule::Role(Role::Auditor)),
        ] {
            let res = app.get(path, cookie).await;
            let want = match (*caller, expected(rule, *caller)) {
                // pages (and exports) send the signed-out to the sign-in page
                (Caller::SignedOut | Caller::Deactivated, _) => StatusCode::SEE_OTHER,
                (_, s) => s,
            };
            if res.status != want {
                failures.push(format!("{caller:?} GET {path}: got {} want {want}", res.status));
            }
        }
    }
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
}

#[tokio::test]
async fn every_api_endpoint_answers_tokens_with_and_without_its_role() {
    // RS-07, ASVS-A1: the role a token carries decides, not the owner's other roles
    let app = spawn().await;
    let owner = app
        .create_user("owner", PW, &Role::ALL.iter().copied().filter(|r| *r != Role::Administrator).collect::<Vec<_>>())
        .await;
    let victim = app.create_user("victim", PW, &[Role::TeamLeader]).await;
    let mut tokens = std::collections::HashMap::new();
    for role in [Role::WorkCreator, Role::UserManager, Role::Auditor] {
        let c = credential_for(&app, &owner, role.slug(), &[role.slug()]).await;
        tokens.insert(role, access_token(&app, &c).await);
    }
    let roles_path = format!("/api/v1/users/{victim}/roles/work_assigner");
    let table: Vec<(&str, &str, Option<Role>, StatusCode)> = vec![
        ("GET", "/api/v1/me", None, StatusCode::OK),
        ("GET", "/api/v1/users", Some(Role::UserManager), StatusCode::OK),
        ("GET", "/api/v1/credentials", Some(Role::Auditor), StatusCode::OK),
        ("GET", "/api/v1/audit", Some(Role::Auditor), StatusCode::OK),
        ("PUT", &roles_path, Some(Role::UserManager), StatusCode::NO_CONTENT),
        ("DELETE", &roles_path, Some(Role::UserManager), StatusCode::NO_CONTENT),
    ];
    let mut failures = Vec::new();
    for (method, path, needs, ok) in &table {
        for (role, token) in &tokens {
            let want = match needs {
                None => *ok,
                Some(r) if r == role => *ok,
                Some(_) => StatusCode::FORBIDDEN,
            };
            let got = bearer_call(&app, method, path, token).await.status;
            if got != want {
                failures.push(format!("{role:?} token {method} {path}: got {got} want {want}"));
            }
        }
        // no token, a made-up token, a session cookie instead of a token
        let anonymous = app.send(Request::builder().method(*method).uri(*path).body(Body::empty()).unwrap()).await;
        if anonymous.status != StatusCode::UNAUTHORIZED {
            failures.push(format!("no token {method} {path}: {}", anonymous.status));
        }
        let forged = bearer_call(&app, method, path, "act_forgedforgedforgedforgedforgedforgedforg").await.status;
        if forged != StatusCode::UNAUTHORIZED {
            failures.push(format!("forged token {method} {path}: {forged}"));
        }
        let cookie = app.sign_in_admin().await;
        let with_cookie = app
            .send(
                Request::builder()
                    .method(*method)
                    .uri(*path)
                    .header(header::COOKIE, cookie)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        if with_cookie.status != StatusCode::UNAUTHORIZED {
            failures.push(format!("session cookie {method} {path}: {}", with_cookie.status));
        }
    }
    // a token of a deactivated owner answers nothing
    let by = app::backend::caller::Caller::Operator;
    app::backend::users::service::set_active(&app.state, &by, &owner, false).await.unwrap();
    for (method, path, _, _) in &table {
        let got = bearer_call(&app, method, path, &tokens[&Role::UserManager]).await.status;
        if got != StatusCode::UNAUTHORIZED {
            failures.push(format!("deactivated owner's token {method} {path}: {got}"));
        }
    }
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
}
