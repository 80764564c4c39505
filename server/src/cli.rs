//! The operator commands of the `appcred` binary (`serve`, the default, is
//! [`crate::startup::serve`]).

use crate::config::{
    redact_url, AuditCommand, Cli, Command, CredentialCommand, ProtectedApiCommand, ServeConfig, UserCommand,
};
use crate::startup;
use anyhow::Context as _;
use app::backend::caller::Caller;
use app::backend::db::DbKind;
use app::backend::secrets::Secret;
use app::backend::users::service as users;
use app::backend::{AppState, Db, SystemClock};
use app::model::Role;
use std::io::{BufRead, IsTerminal};
use std::sync::Arc;

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    crate::files::warn_about_open_files(&cli.database_url, cli.serve.secret_key_file.as_deref());
    match cli.command {
        None | Some(Command::Serve) => startup::serve(ServeConfig::from_cli(&cli.database_url, &cli.serve)?).await,
        Some(Command::Migrate) => {
            // A new SQLite installation gets its server key with its
            // database (it would be refused later, beside an existing one).
            if DbKind::from_url(&cli.database_url)? == DbKind::Sqlite {
                crate::config::load_secret_key(&cli.database_url, DbKind::Sqlite, &cli.serve)?;
            }
            Db::connect(&cli.database_url).await?;
            println!("Migrations applied to {}.", redact_url(&cli.database_url));
            Ok(())
        }
        Some(Command::User(cmd)) => {
            let config = ServeConfig::from_cli(&cli.database_url, &cli.serve)?;
            user_command(&offline_state(&config).await?, cmd).await
        }
        Some(Command::Credential(cmd)) => {
            let config = ServeConfig::from_cli(&cli.database_url, &cli.serve)?;
            let state = offline_state(&config).await?;
            let out = credential_command(&state, cmd).await?;
            println!("{out}");
            Ok(())
        }
        Some(Command::ProtectedApi(cmd)) => {
            let config = ServeConfig::from_cli(&cli.database_url, &cli.serve)?;
            let out = protected_api_command(&offline_state(&config).await?, cmd).await?;
            println!("{out}");
            Ok(())
        }
        Some(Command::Audit(AuditCommand::Head)) => {
            let db = connect_keyed(&cli.database_url, &cli.serve).await?;
            println!("{}", app::backend::audit::head(&db).await.map_err(from_domain)?);
            Ok(())
        }
        Some(Command::Audit(AuditCommand::Verify { head: anchor })) => {
            use app::backend::audit;
            let db = connect_keyed(&cli.database_url, &cli.serve).await?;
            match audit::verify_against(&db, anchor.as_ref()).await.map_err(from_domain)? {
                audit::Verdict::Intact { count } => {
                    let keyed_from = audit::head(&db).await.map_err(from_domain)?.keyed_from;
                    println!("Audit log intact: {count} events, every hash links to the one before.");
                    if keyed_from > count {
                        println!("Events 1 to {count} carry the unkeyed SHA-256 chain of releases before the keyed chain; none is keyed yet.");
                    } else if keyed_from > 1 {
                        println!(
                            "Events 1 to {} carry the unkeyed SHA-256 chain of releases before the keyed chain; \
                             events {keyed_from} to {count} the HMAC-SHA-256 chain under the audit key.",
                            keyed_from - 1
                        );
                    } else {
                        println!("Every event carries the HMAC-SHA-256 chain under the audit key.");
                    }
                    if let Some(a) = anchor {
                        println!("Event {} carries the anchored hash.", a.seq);
                    }
                    Ok(())
                }
                audit::Verdict::Broken { seq, reason } => {
                    eprintln!("Audit log BROKEN at event {seq}: {reason}.");
                    std::process::exit(1);
                }
            }
        }
    }
}

/// The database with the keys derived from the server key, for the commands
/// that write or check the audit log (`app/src/backend/keys.rs`).
async fn connect_keyed(database_url: &str, args: &crate::config::ServeArgs) -> anyhow::Result<Db> {
    let key = crate::config::load_secret_key(database_url, DbKind::from_url(database_url)?, args)?;
    startup::connect_with_key(database_url, &key).await
}

fn parse_role(slug: &str) -> anyhow::Result<Role> {
    Role::from_slug(slug).ok_or_else(|| {
        let known: Vec<_> = Role::ALL.iter().map(|r| r.slug()).collect();
        anyhow::anyhow!("unknown role {slug:?}; known roles: {}", known.join(", "))
    })
}

/// Reads a password from stdin; `None` lets the service generate one.
fn read_password(from_stdin: bool) -> anyhow::Result<Option<Secret>> {
    if from_stdin {
        let stdin = std::io::stdin();
        if stdin.is_terminal() {
            eprintln!("Password (input is visible; prefer piping it in):");
        }
        let mut line = String::new();
        stdin.lock().read_line(&mut line).context("reading the password from stdin")?;
        let password = line.trim_end_matches(['\n', '\r']).to_string();
        Ok(Some(Secret::new(password)))
    } else {
        Ok(None)
    }
}

/// The CLI's table (docs/errors.md): every domain refusal as the operator
/// reads it on stderr; the command exits with status 1.
pub fn from_domain(e: app::backend::Error) -> anyhow::Error {
    use app::backend::Error as E;
    match e {
        E::Invalid { field, message } => anyhow::anyhow!("{field}: {message}"),
        E::NotFound => anyhow::anyhow!("not found"),
        E::Internal(e) => e.context("internal error"),
        refused @ (E::Unauthenticated
        | E::MissingRole(_)
        | E::Refused(_)
        | E::InvalidCredentials
        | E::Throttled { .. }) => anyhow::anyhow!("{refused}"),
    }
}

async fn user_command(state: &AppState, cmd: UserCommand) -> anyhow::Result<()> {
    let (db, by) = (&state.db, &Caller::Operator);
    match cmd {
        UserCommand::Add { username, display_name, roles, password_stdin } => {
            let roles = roles.iter().map(|r| parse_role(r)).collect::<anyhow::Result<Vec<_>>>()?;
            let password = read_password(password_stdin)?;
            let (user, generated) = users::create_user(
                state,
                by,
                users::NewUserInput {
                    username: &username,
                    display_name: &display_name,
                    password: password.as_ref(),
                    roles: &roles,
                },
            )
            .await
            .map_err(from_domain)?;
            let mut out = serde_json::json!({ "id": user.id, "username": user.username });
            if let Some(generated) = generated {
                out["password"] = generated.expose().into();
            }
            println!("{out}");
        }
        UserCommand::Passwd { username, password_stdin } => {
            let password = read_password(password_stdin)?;
            let user = users::find_by_username(db, &username).await.map_err(from_domain)?;
            let (_, generated) =
                users::set_password(state, by, &user.id, password.as_ref()).await.map_err(from_domain)?;
            if let Some(generated) = generated {
                println!("{}", serde_json::json!({ "username": username, "password": generated.expose() }));
            } else {
                println!("Password changed; all sessions of {username} have ended.");
            }
        }
        UserCommand::Grant { username, role } => {
            let user = users::find_by_username(db, &username).await.map_err(from_domain)?;
            let changed = users::grant_role(state, by, &user.id, parse_role(&role)?).await.map_err(from_domain)?;
            println!("{}", if changed { "Granted." } else { "The user already holds that role." });
        }
        UserCommand::Revoke { username, role } => {
            let user = users::find_by_username(db, &username).await.map_err(from_domain)?;
            let changed = users::revoke_role(state, by, &user.id, parse_role(&role)?).await.map_err(from_domain)?;
            println!("{}", if changed { "Revoked." } else { "The user does not hold that role." });
        }
        ref c @ (UserCommand::Deactivate { ref username } | UserCommand::Activate { ref username }) => {
            let active = matches!(c, UserCommand::Activate { .. });
            let user = users::find_by_username(db, username).await.map_err(from_domain)?;
            let changed = users::set_active(state, by, &user.id, active).await.map_err(from_domain)?;
            println!(
                "{}",
                match (changed, active) {
                    (true, true) => "Reactivated.",
                    (true, false) => "Deactivated: their tokens are revoked and their sessions ended.",
                    (false, true) => "The user is already active.",
                    (false, false) => "The user is already deactivated.",
                }
            );
        }
        UserCommand::List => {
            let list = users::list_with_roles(state, by).await.map_err(from_domain)?;
            let json: Vec<_> = list
                .into_iter()
                .map(|u| {
                    serde_json::json!({
                        "id": u.user.id,
                        "username": u.user.username,
                        "display_name": u.user.display_name,
                        "active": u.user.active,
                        "roles": u.roles.iter().map(|r| r.slug()).collect::<Vec<_>>(),
                    })
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&json)?);
        }
    }
    Ok(())
}

/// The state the CLI needs to run services without serving.
pub async fn offline_state(config: &ServeConfig) -> anyhow::Result<AppState> {
    let db = startup::connect(config).await?;
    Ok(startup::state_from_config(config, db, Arc::new(SystemClock), startup::hasher()))
}

/// The principal of an operator acting for `username`: that user's live roles.
async fn act_as(state: &AppState, username: &str) -> anyhow::Result<Caller> {
    let user = users::find_by_username(&state.db, username).await.map_err(from_domain)?;
    if !user.active {
        anyhow::bail!("{username} is deactivated");
    }
    Ok(Caller::Person(users::principal(&state.db, &user, None).await.map_err(from_domain)?))
}

/// Runs a credential command and returns its JSON output.
pub async fn credential_command(state: &AppState, cmd: CredentialCommand) -> anyhow::Result<serde_json::Value> {
    use app::backend::credentials::service as credentials;
    match cmd {
        CredentialCommand::Create { username, name, expires_on, roles } => {
            let owner = act_as(state, &username).await?;
            let expires_on = match expires_on {
                Some(d) => d,
                None => credentials::form_data(state, &owner).await.map_err(from_domain)?.default_expiry,
            };
            let created = credentials::create(state, &owner, credentials::CredentialInput { name, expires_on, roles })
                .await
                .map_err(from_domain)?;
            Ok(
                serde_json::json!({ "client_id": created.client_id, "name": created.name, "client_secret": created.secret }),
            )
        }
        CredentialCommand::List { username } => {
            let owner = act_as(state, &username).await?;
            let mut items = Vec::new();
            let mut page = 1;
            loop {
                let p = credentials::list(state, &owner, "", app::model::CredentialSort::Name, false, page)
                    .await
                    .map_err(from_domain)?
                    .page;
                let done = p.page * p.per_page >= p.total;
                items.extend(p.items);
                if done {
                    break;
                }
                page += 1;
            }
            Ok(serde_json::Value::Array(
                items
                    .into_iter()
                    .map(|c| {
                        serde_json::json!({
                            "client_id": c.id,
                            "name": c.name,
                            "roles": c.roles.iter().map(|r| serde_json::json!({
                                "role": r.role.slug(),
                                "revoked": r.revoked_at.is_some(),
                            })).collect::<Vec<_>>(),
                            "expires_on": app::model::format_date(c.expires_at),
                            "last_used_at": c.last_used_at,
                        })
                    })
                    .collect(),
            ))
        }
        CredentialCommand::Regenerate { username, client_id } => {
            let owner = act_as(state, &username).await?;
            let fresh = credentials::regenerate(state, &owner, &client_id).await.map_err(from_domain)?;
            Ok(serde_json::json!({ "client_id": fresh.client_id, "name": fresh.name, "client_secret": fresh.secret }))
        }
        CredentialCommand::Delete { username, client_id } => {
            let owner = act_as(state, &username).await?;
            credentials::delete(state, &owner, &client_id).await.map_err(from_domain)?;
            Ok(serde_json::json!({ "deleted": client_id }))
        }
    }
}

/// The operator's protected API commands: the services' rules, as the
/// operator (who holds Administrator), the secret printed once.
pub async fn protected_api_command(state: &AppState, cmd: ProtectedApiCommand) -> anyhow::Result<serde_json::Value> {
    use app::backend::protected_apis::service::{self as apis, ProtectedApiInput};
    let by = &Caller::Operator;
    let secret = |s: app::model::CreatedSecret| serde_json::json!({ "client_id": s.client_id, "name": s.name, "client_secret": s.secret });
    match cmd {
        ProtectedApiCommand::Create { name, audience } => {
            let created = apis::create(state, by, ProtectedApiInput { name, audience }).await.map_err(from_domain)?;
            Ok(secret(created))
        }
        ProtectedApiCommand::List => {
            let items = apis::list(state, by).await.map_err(from_domain)?;
            Ok(serde_json::Value::Array(
                items
                    .into_iter()
                    .map(|a| serde_json::json!({ "client_id": a.id, "name": a.name, "audience": a.audience }))
                    .collect(),
            ))
        }
        ProtectedApiCommand::Edit { client_id, name, audience } => {
            apis::update(state, by, &client_id, ProtectedApiInput { name, audience }).await.map_err(from_domain)?;
            Ok(serde_json::json!({ "updated": client_id }))
        }
        ProtectedApiCommand::Regenerate { client_id } => {
            Ok(secret(apis::regenerate(state, by, &client_id).await.map_err(from_domain)?))
        }
        ProtectedApiCommand::Delete { client_id } => {
            apis::delete(state, by, &client_id).await.map_err(from_domain)?;
            Ok(serde_json::json!({ "deleted": client_id }))
        }
    }
}
