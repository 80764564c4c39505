//! The rules of protected APIs: only Administrators manage them; the
//! audience is an absolute URI (https, or http on this machine) without a
//! fragment (RFC 8707 §2), unique among the live APIs; the secret is shown
//! once. Every change is audited in its transaction, and commits through
//! [`RightsChange`](crate::backend::db::changes::RightsChange) so every
//! process's caches see it at once.

use super::repo::{self, NewApi};
use crate::backend::audit::{self, Actor, Event, Target};
use crate::backend::caller::Caller;
use crate::backend::credentials::service::validate_name;
use crate::backend::secrets::{self, PROTECTED_API_SECRET_PREFIX};
use crate::backend::tokens::{service as tokens, Ending, Reason};
use crate::backend::{AppState, Error, Result};
use crate::model::{AuditEvent, CreatedSecret, ProtectedApiSummary, Role};
use std::net::{IpAddr, Ipv6Addr};

pub const AUDIENCE_MAX_CHARS: usize = 512;

/// What the create and edit forms submit.
#[derive(Clone, Debug)]
pub struct ProtectedApiInput {
    pub name: String,
    pub audience: String,
}

/// The audience URI as entered (trimmed), if it is an absolute `https`
/// URI, or `http` on a loopback host (RFC 8252 §8.3 treats those alike),
/// with an authority, without user information (RFC 3986 §3.2.1) and
/// without a fragment (RFC 8707 §2). It is compared with a token request's
/// `resource` exactly, so it is kept as typed.
pub fn validate_audience(raw: &str) -> Result<String> {
    let bad = |m: &str| Error::invalid("audience", m.to_string());
    let uri = raw.trim();
    if uri.is_empty() {
        return Err(bad("Enter the API's URI, e.g. https://api.example.com."));
    }
    if uri.chars().count() > AUDIENCE_MAX_CHARS {
        return Err(bad(&format!("Use at most {AUDIENCE_MAX_CHARS} characters.")));
    }
    // RFC 3986 §2: printable ASCII, without the characters it never allows.
    if !uri.bytes().all(|b| b.is_ascii_graphic() && !b"\"<>\\^`{|}".contains(&b)) {
        return Err(bad("A URI has no spaces and no characters outside printable ASCII (percent-encode them)."));
    }
    if uri.contains('#') {
        return Err(bad("The URI cannot have a fragment (#…)."));
    }
    let (scheme, rest) = uri.split_once("://").ok_or_else(|| bad("Enter an absolute URI: https://…"))?;
    let authority = &rest[..rest.find(['/', '?']).unwrap_or(rest.len())];
    if authority.contains('@') {
        return Err(bad("The URI cannot carry a user name or password."));
    }
    let (host, port) = split_host_port(authority).ok_or_else(|| bad("The URI's host is not valid."))?;
    if !port.is_empty() && (port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit())) {
        return Err(bad("The URI's port is not valid."));
    }
    match scheme {
        "https" => Ok(uri.to_string()),
        "http" if is_loopback(host) => Ok(uri.to_string()),
        "http" => Err(bad("Use https (http only for localhost).")),
        _ => Err(bad("Use an https URI.")),
    }
}

/// The host and the port (empty: none) of an authority; `None` when the
/// host is empty or not a name, an IPv4 address or a bracketed IPv6 one.
fn split_host_port(authority: &str) -> Option<(&str, &str)> {
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (inside, after) = v6.split_once(']')?;
        inside.parse::<Ipv6Addr>().ok()?;
        let port = if after.is_empty() { "" } else { after.strip_prefix(':')? };
        (&authority[..inside.len() + 2], port)
    } else {
        let (host, port) = authority.split_once(':').unwrap_or((authority, ""));
        let name = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'.';
        if !host.bytes().all(name) {
            return None;
        }
        (host, port)
    };
    (!host.is_empty()).then_some((host, port))
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn taken() -> Error {
    Error::invalid("audience", "Another protected API has this audience.")
}

fn event(kind: AuditEvent, by: &Caller, id: &str, name: &str) -> Event {
    Event::new(kind, Actor::of(by)).ip(by.ip()).target(Target::protected_api(id, name))
}

/// Every live protected API: Administrators.
pub async fn list(state: &AppState, by: &Caller) -> Result<Vec<ProtectedApiSummary>> {
    by.require(Role::Administrator)?;
    repo::list_live(&state.db.pool).await
}

/// One live protected API: Administrators.
pub async fn get(state: &AppState, by: &Caller, id: &str) -> Result<ProtectedApiSummary> {
    by.require(Role::Administrator)?;
    repo::find_live(&state.db.pool, id).await?.ok_or(Error::NotFound)
}

/// Registers a protected API; its client id and secret are returned this
/// once, and only the secret's keyed digest is stored.
pub async fn create(state: &AppState, by: &Caller, input: ProtectedApiInput) -> Result<CreatedSecret> {
    by.require(Role::Administrator)?;
    let name = validate_name(&input.name)?;
    let audience = validate_audience(&input.audience)?;
    let now = state.clock.unix();
    let id = uuid::Uuid::new_v4().to_string();
    let secret = secrets::generate(PROTECTED_API_SECRET_PREFIX);
    let digest = state.secret_key.digest(&secret);
    let mut tx = state.db.begin_rights_change().await?;
    let new = NewApi { id: &id, name: &name, audience: &audience, secret_digest: &digest, now };
    if !repo::insert(&mut tx, new).await? {
        return Err(taken());
    }
    let e = event(AuditEvent::ProtectedApiCreated, by, &id, &name).detail("audience", audience.as_str());
    audit::record(&state.db, &mut tx, now, e).await?;
    tx.commit().await?;
    tracing::info!(event = "protected_api_created", protected_api_id = %id, by = %by.id());
    Ok(CreatedSecret { client_id: id, name, secret })
}

/// Edits name and audience. Another audience ends the tokens bound to the
/// old one: they were meant for an audience this API no longer is.
pub async fn update(state: &AppState, by: &Caller, id: &str, input: ProtectedApiInput) -> Result<()> {
    let api = get(state, by, id).await?;
    let name = validate_name(&input.name)?;
    let audience = validate_audience(&input.audience)?;
    let now = state.clock.unix();
    let mut tx = state.db.begin_rights_change().await?;
    if !repo::update(&mut tx, &api.id, &name, &audience, now).await? {
        return Err(taken());
    }
    let mut killed = 0;
    if audience != api.audience {
        killed = tokens::end(&mut tx, Ending::Audience(&api.audience), Reason::AudienceChanged, now).await?;
    }
    let e = event(AuditEvent::ProtectedApiUpdated, by, &api.id, &name)
        .change("name", api.name.as_str(), name.as_str())
        .change("audience", api.audience.as_str(), audience.as_str())
        .detail("tokens_revoked", killed);
    audit::record(&state.db, &mut tx, now, e).await?;
    tx.commit().await?;
    tracing::info!(event = "protected_api_updated", protected_api_id = %api.id, by = %by.id());
    Ok(())
}

/// A new secret, shown once; the old one stops working at once.
pub async fn regenerate(state: &AppState, by: &Caller, id: &str) -> Result<CreatedSecret> {
    let api = get(state, by, id).await?;
    let secret = secrets::generate(PROTECTED_API_SECRET_PREFIX);
    let digest = state.secret_key.digest(&secret);
    let now = state.clock.unix();
    let mut tx = state.db.begin_rights_change().await?;
    if !repo::set_secret(&mut tx, &api.id, &digest, now).await? {
        return Err(Error::NotFound);
    }
    audit::record(&state.db, &mut tx, now, event(AuditEvent::ProtectedApiSecretRegenerated, by, &api.id, &api.name))
        .await?;
    tx.commit().await?;
    tracing::info!(event = "protected_api_secret_regenerated", protected_api_id = %api.id, by = %by.id());
    Ok(CreatedSecret { client_id: api.id, name: api.name, secret })
}

/// Deletes the API: its secret stops working and the tokens bound to its
/// audience end.
pub async fn delete(state: &AppState, by: &Caller, id: &str) -> Result<()> {
    let api = get(state, by, id).await?;
    let now = state.clock.unix();
    let mut tx = state.db.begin_rights_change().await?;
    if !repo::mark_deleted(&mut tx, &api.id, now).await? {
        return Err(Error::NotFound);
    }
    let killed = tokens::end(&mut tx, Ending::Audience(&api.audience), Reason::ProtectedApiDeleted, now).await?;
    let e = event(AuditEvent::ProtectedApiDeleted, by, &api.id, &api.name)
        .detail("audience", api.audience.as_str())
        .detail("tokens_revoked", killed);
    audit::record(&state.db, &mut tx, now, e).await?;
    tx.commit().await?;
    tracing::info!(event = "protected_api_deleted", protected_api_id = %api.id, by = %by.id());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_audience_is_an_absolute_https_uri_or_http_on_this_machine() {
        for ok in [
            "https://api.example.com",
            "  https://api.example.com/v1?x=1 ",
            "https://api.example.com:8443/",
            "http://localhost:8080/api",
            "http://127.0.0.1/",
            "http://[::1]:3000",
            "https://[2001:db8::1]/",
        ] {
            assert_eq!(validate_audience(ok).unwrap(), ok.trim(), "{ok}");
        }
        for bad in [
            "",
            "api.example.com",
            "http://api.example.com",
            "ftp://api.example.com",
            "HTTPS://api.example.com",
            "https://api.example.com/#frag",
            "https://user:pw@api.example.com",
            "https:///path",
            "https://api example.com",
            "https://api.example.com:80x",
            "https://[::1",
            "https://api.exämple.com",
            "http://localhost.evil.example",
        ] {
            assert!(matches!(validate_audience(bad), Err(Error::Invalid { field: "audience", .. })), "{bad}");
        }
        assert!(validate_audience(&format!("https://a.example/{}", "x".repeat(600))).is_err());
    }
}
