//! SQL that restates a Rust rule agrees with the rule on every case. Each
//! test writes every case into the database, reads it back through the SQL
//! (by way of the service that uses it), and compares the answer with the
//! Rust rule applied to the case itself:
//! - a client's usable roles: `tokens::repo::load_client` and `rules::usable_roles`;
//! - whether a token lives: `tokens::repo::load_token` and
//!   `rules::{effective_expiry, secret_still_valid, usable_roles, rights_alive}`;
//! - which tokens carry a role: `tokens::repo::revoke_live` (by role) and `tokens::scope_to_roles`;
//! - the Auditors' credential views: `audit::repo` and `audit::audited::in_view`,
//!   which is the credential's status (`AuditedCredential::status`).

use crate::common::{self, rows};
use app::backend::credentials::audited::{self, AuditSort, CredentialQuery};
use app::backend::credentials::repo::NewCredential;
use app::backend::tokens::repo::NewToken;
use app::backend::tokens::repo::RoleRow;
use app::backend::tokens::{roles_to_scope, rules, scope_to_roles, service, Ending, Reason};
use app::backend::Db;
use app::model::{AuditedCredential, CredentialSort, CredentialView, Role, SECS_PER_DAY};
use std::net::IpAddr;

/// The rights generation of every owner, client and token below.
const GEN: i64 = 5;

/// How the owner holds a role now.
#[derive(Clone, Copy, Debug)]
enum Holding {
    Never,
    /// Held, in a holding that began at this generation.
    Since(i64),
    /// Held from this generation, then lost.
    Lost(i64),
}

const HOLDINGS: [Holding; 5] =
    [Holding::Never, Holding::Since(GEN - 1), Holding::Since(GEN), Holding::Since(GEN + 1), Holding::Lost(GEN - 1)];
/// The generations at which a role was put on the credential.
const ADDED: [i64; 3] = [GEN - 1, GEN, GEN + 1];

/// A role on a credential: when it was added, and how the owner holds it.
type OnCredential = (Role, i64, Holding);

/// Every pairing of holding and adding, for a credential's only role and
/// beside a role that is usable; and a credential with no role.
fn role_cases() -> Vec<Vec<OnCredential>> {
    let mut cases = vec![Vec::new()];
    for holding in HOLDINGS {
        for added in ADDED {
            cases.push(vec![(Role::WorkCreator, added, holding)]);
            cases.push(vec![(Role::WorkCreator, GEN, Holding::Since(GEN)), (Role::TeamLeader, added, holding)]);
        }
    }
    cases
}

/// A role on a credential as the rules read it (`RoleRow`): its generation
/// on the credential and, only while the owner holds it, the generation that
/// holding began.
fn reference_row((role, added, holding): OnCredential) -> RoleRow {
    let granted_gen = match holding {
        Holding::Since(g) => Some(g),
        Holding::Never | Holding::Lost(_) => None,
    };
    RoleRow { role: Some(role.slug().to_string()), added_gen: Some(added), granted_gen }
}

/// The roles usable at [`GEN`], by the rule alone.
fn usable_by_the_rule(roles: &[OnCredential]) -> Vec<Role> {
    let reference: Vec<RoleRow> = roles.iter().copied().map(reference_row).collect();
    rules::usable_roles(&reference, GEN)
}

/// Writes the roles on the credential and the owner's holdings of them.
async fn write_roles(db: &Db, owner: &str, credential: &str, roles: &[OnCredential]) {
    for &(role, added, holding) in roles {
        rows::credential_role(db, credential, role, added).await;
        match holding {
            Holding::Never => {}
            Holding::Since(g) => rows::user_role(db, owner, role, g, false).await,
            Holding::Lost(g) => rows::user_role(db, owner, role, g, true).await,
        }
    }
}

/// A credential named by its id, created now, expiring in a day.
fn credential<'a>(id: &'a str, owner_id: &'a str, secret_digest: &'a str, now: i64) -> NewCredential<'a> {
    NewCredential { id, owner_id, name: id, secret_digest, expires_at: now + SECS_PER_DAY, now }
}

/// A token as issued: its stored key, credential, scope, times and generation.
fn issued(
    key: &str,
    credential_id: &str,
    scope: &str,
    issued_at: i64,
    expires_at: i64,
    secret_version: i64,
) -> NewToken {
    NewToken {
        key: key.to_string(),
        credential_id: credential_id.to_string(),
        roles: scope.to_string(),
        issued_at,
        expires_at,
        secret_version,
        rights_gen: GEN,
        audience: None,
        protected_api_id: None,
    }
}

#[tokio::test]
async fn a_clients_usable_roles_follow_the_rule_on_every_holding() {
    let app = common::spawn().await;
    let (db, now) = (&app.state.db, app.now());
    for (i, roles) in role_cases().into_iter().enumerate() {
        let (owner, client, secret) = (format!("client-owner-{i}"), format!("client-{i}"), format!("secret-{i}"));
        rows::user(db, &owner, true, GEN, 0).await;
        let digest = app.state.secret_key.digest(&secret);
        rows::credential(db, credential(&client, &owner, &digest, now), 1, None, None).await;
        write_roles(db, &owner, &client, &roles).await;

        let ip: IpAddr = format!("192.0.2.{i}").parse().unwrap();
        let found = service::authenticate(&app.state, &client, &secret, ip).await.expect("a live client");
        assert_eq!(found.usable_roles, usable_by_the_rule(&roles), "case {i}: {roles:?}");
        assert_eq!(found.rights_gen, GEN, "case {i}");
    }
}

/// A token with its credential and owner.
#[derive(Clone, Debug)]
struct TokenCase {
    roles: Vec<OnCredential>,
    carried: Vec<Role>,
    issued_ago: i64,
    /// The stored expiry, from now.
    expires_in: i64,
    idle_for: i64,
    token_secret_version: i64,
    credential_secret_version: i64,
    deleted: bool,
    credential_expires_in: i64,
    owner_active: bool,
    tokens_valid_gen: i64,
    revoked: bool,
}

/// A live token under the default settings (lifetime 3600 s, idle 1200 s).
fn live_token() -> TokenCase {
    TokenCase {
        roles: vec![(Role::WorkCreator, GEN, Holding::Since(GEN))],
        carried: vec![Role::WorkCreator],
        issued_ago: 60,
        expires_in: 600,
        idle_for: 10,
        token_secret_version: 2,
        credential_secret_version: 2,
        deleted: false,
        credential_expires_in: SECS_PER_DAY,
        owner_active: true,
        tokens_valid_gen: GEN,
        revoked: false,
    }
}

/// Every field of a live token moved to each side of its rule's boundary,
/// and every holding of the roles it carries.
fn token_cases() -> Vec<TokenCase> {
    let live = live_token;
    let mut cases = vec![
        live(),
        TokenCase { revoked: true, ..live() },
        TokenCase { expires_in: 1, ..live() },
        TokenCase { expires_in: 0, ..live() },
        TokenCase { expires_in: -1, ..live() },
        // The stored expiry is capped by the lifetime in force.
        TokenCase { issued_ago: 3599, expires_in: 3600, ..live() },
        TokenCase { issued_ago: 3600, expires_in: 3600, ..live() },
        TokenCase { idle_for: 1200, ..live() },
        TokenCase { idle_for: 1201, ..live() },
        TokenCase { token_secret_version: 1, ..live() },
        TokenCase { token_secret_version: 3, ..live() },
        TokenCase { deleted: true, ..live() },
        TokenCase { credential_expires_in: 1, ..live() },
        TokenCase { credential_expires_in: 0, ..live() },
        TokenCase { owner_active: false, ..live() },
        TokenCase { tokens_valid_gen: GEN - 1, ..live() },
        TokenCase { tokens_valid_gen: GEN + 1, ..live() },
        TokenCase { carried: Vec::new(), ..live() },
        TokenCase { carried: vec![Role::WorkCreator, Role::TeamLeader], ..live() },
    ];
    for roles in role_cases() {
        let all: Vec<Role> = roles.iter().map(|r| r.0).collect();
        cases.push(TokenCase { roles: roles.clone(), carried: vec![Role::WorkCreator], ..live() });
        cases.push(TokenCase { roles, carried: all, ..live() });
    }
    cases
}

/// Whether the token lives, by the rules alone.
fn alive_by_the_rules(c: &TokenCase, now: i64, lifetime_secs: i64, idle_secs: i64) -> bool {
    let issued_at = now - c.issued_ago;
    !c.revoked
        && now < rules::effective_expiry(issued_at, now + c.expires_in, lifetime_secs)
        && c.idle_for <= idle_secs
        && rules::secret_still_valid(c.token_secret_version, c.credential_secret_version)
        && !c.deleted
        && c.credential_expires_in > 0
        && c.owner_active
        && rules::rights_alive(GEN, c.tokens_valid_gen, &c.carried, &usable_by_the_rule(&c.roles))
}

#[tokio::test]
async fn a_token_lives_exactly_when_the_rules_say_so() {
    let app = common::spawn().await;
    let (db, now) = (&app.state.db, app.now());
    let settings = app::backend::settings::load(db).await.unwrap();
    let mut outcomes = [0, 0];
    for (i, c) in token_cases().into_iter().enumerate() {
        let (owner, client) = (format!("token-owner-{i}"), format!("token-client-{i}"));
        rows::user(db, &owner, c.owner_active, GEN, c.tokens_valid_gen).await;
        let new = NewCredential { expires_at: now + c.credential_expires_in, ..credential(&client, &owner, "0", now) };
        rows::credential(db, new, c.credential_secret_version, None, c.deleted.then_some(now - 1)).await;
        write_roles(db, &owner, &client, &c.roles).await;
        let token = app::backend::secrets::new_access_token(&app.state.secret_key);
        let scope = roles_to_scope(&c.carried);
        let stored =
            issued(&token.key, &client, &scope, now - c.issued_ago, now + c.expires_in, c.token_secret_version);
        rows::token(db, stored, now - c.idle_for, c.revoked.then_some(now - 1)).await;

        let expected = alive_by_the_rules(&c, now, settings.token_lifetime_secs, settings.token_idle_secs);
        match service::validate(&app.state, &token.value).await {
            Ok(p) => {
                assert!(expected, "case {i} lives, against the rules: {c:?}");
                assert_eq!(p.roles, scope_to_roles(&scope), "case {i}");
            }
            Err(app::backend::Error::Unauthenticated) => {
                assert!(!expected, "case {i} is dead, against the rules: {c:?}")
            }
            Err(other) => panic!("case {i}: {other:?}"),
        }
        outcomes[usize::from(expected)] += 1;
    }
    assert!(outcomes[0] > 0 && outcomes[1] > 0, "both outcomes are covered: {outcomes:?}");
}

#[tokio::test]
async fn the_tokens_that_carry_a_role_are_those_whose_scope_names_it() {
    let app = common::spawn().await;
    let (db, now) = (&app.state.db, app.now());
    // Every role alone, every pair, and all of them.
    let mut scopes: Vec<Vec<Role>> = Role::ALL.iter().map(|r| vec![*r]).collect();
    for (i, a) in Role::ALL.iter().enumerate() {
        for b in &Role::ALL[i + 1..] {
            scopes.push(vec![*a, *b]);
        }
    }
    scopes.push(Role::ALL.to_vec());
    rows::user(db, "carrier", true, GEN, 0).await;
    for (i, scope) in scopes.iter().enumerate() {
        let client = format!("carrier-{i}");
        rows::credential(db, credential(&client, "carrier", "0", now), 1, None, None).await;
        let token = app::backend::secrets::new_access_token(&app.state.secret_key);
        rows::token(db, issued(&token.key, &client, &roles_to_scope(scope), now, now + 600, 1), now, None).await;
    }

    for role in Role::ALL {
        let carrying = |scope: &Vec<Role>| scope_to_roles(&roles_to_scope(scope)).contains(&role);
        // Each change is dropped, so rolled back: every token stays live for the next role.
        let mut tx = db.begin_rights_change().await.unwrap();
        for (i, scope) in scopes.iter().enumerate() {
            let client = format!("carrier-{i}");
            let which = Ending::CredentialRole(&client, role);
            let ended = service::end(&mut tx, which, Reason::RoleRemovedFromCredential, now).await.unwrap();
            assert_eq!(ended == 1, carrying(scope), "{role:?} on {scope:?}");
        }
        drop(tx);
        let mut tx = db.begin_rights_change().await.unwrap();
        let ended = service::end(&mut tx, Ending::OwnerRole("carrier", role), Reason::RoleRevoked, now).await.unwrap();
        assert_eq!(ended as usize, scopes.iter().filter(|s| carrying(s)).count(), "{role:?}, owner-wide");
        drop(tx);
    }
}

#[tokio::test]
async fn each_credential_view_lists_exactly_the_credentials_its_rule_names() {
    let app = common::spawn().await;
    let (db, now) = (&app.state.db, app.now());
    let (unused, expiring) = (audited::unused_before(now), audited::expiring_before(now));
    rows::user(db, "viewed", true, 0, 0).await;
    // Each side of every boundary: expiry, the expiring window, last use
    // (or, never used, creation) against the unused window, and deletion.
    let expiries = [now - 1, now, now + 1, expiring - 1, expiring, expiring + SECS_PER_DAY];
    let uses = [
        (None, unused - 1),
        (None, unused),
        (Some(unused - 1), unused - SECS_PER_DAY),
        (Some(unused), unused - SECS_PER_DAY),
        (Some(now), now - 10),
    ];
    let mut written = Vec::new();
    for deleted_at in [None, Some(now - 5)] {
        for expires_at in expiries {
            for (last_used_at, created_at) in uses {
                let id = format!("view-{:02}", written.len());
                let new = NewCredential { expires_at, ..credential(&id, "viewed", "0", created_at) };
                rows::credential(db, new, 1, last_used_at, deleted_at).await;
                written.push(AuditedCredential {
                    id: id.clone(),
                    name: id,
                    owner_id: "viewed".into(),
                    owner_username: "viewed".into(),
                    roles: Vec::new(),
                    expires_at,
                    created_at,
                    last_used_at,
                    deleted_at,
                    secret_rotated_at: created_at,
                    live_tokens: 0,
                });
            }
        }
    }

    for view in CredentialView::ALL {
        let q = CredentialQuery {
            filter: "view-".into(),
            view,
            sort: AuditSort::Base(CredentialSort::Name),
            descending: false,
            page: 1,
        };
        let (listed, total) =
            app::backend::credentials::repo::credentials_page(&db.pool, &q, now, 1000, 0).await.unwrap();
        let listed: Vec<&str> = listed.iter().map(|c| c.id()).collect();
        let named: Vec<&str> =
            written.iter().filter(|c| audited::in_view(view, c, now)).map(|c| c.id.as_str()).collect();
        assert_eq!(listed, named, "{view:?}");
        assert_eq!(total as usize, named.len(), "{view:?}");
        assert!(!named.is_empty(), "{view:?} has cases");
    }
}
