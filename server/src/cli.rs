//! Start-up and the operator commands of the `appcred` binary.

use crate::config::{redact_url, AuditCommand, Cli, Command, CredentialCommand, ServeConfig, UserCommand};
use anyhow::Context as _;
use app::backend::auth::password::PasswordHasher;
use app::backend::auth::session_store::DbSessionStore;
use app::backend::auth::throttle;
use app::backend::auth::Secret;
use app::backend::db::DbKind;
use app::backend::keys::DerivedKeys;
use app::backend::users::service::{self as users, By};
use app::backend::{AppState, Clock, Db, SecurityConfig, SystemClock};
use app::model::Role;
use std::io::{BufRead, IsTerminal};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    crate::files::warn_about_open_files(&cli.database_url, cli.serve.secret_key_file.as_deref());
    match cli.command {
        None | Some(Command::Serve) => serve(ServeConfig::from_cli(&cli.database_url, &cli.serve)?).await,
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
        Some(Command::User(cmd)) => user_command(&connect_keyed(&cli.database_url, &cli.serve).await?, cmd).await,
        Some(Command::Credential(cmd)) => {
            let config = ServeConfig::from_cli(&cli.database_url, &cli.serve)?;
            let state = offline_state(&config).await?;
            let out = credential_command(&state, cmd).await?;
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
    connect_with_key(database_url, &key).await
}

/// Connects (and migrates) with the keys derived from `key`.
async fn connect_with_key(database_url: &str, key: &app::backend::secrets::SecretKey) -> anyhow::Result<Db> {
    Ok(Db::connect(database_url).await?.with_keys(Arc::new(DerivedKeys::derive(key))))
}

fn hasher() -> PasswordHasher {
    PasswordHasher::new(std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2))
}

pub fn leptos_options(site_root: &str, bind: SocketAddr) -> leptos::config::LeptosOptions {
    leptos::config::LeptosOptions::builder()
        .output_name(std::env::var("LEPTOS_OUTPUT_NAME").unwrap_or_else(|_| "appcred".into()))
        .site_root(site_root)
        .site_pkg_dir(std::env::var("LEPTOS_SITE_PKG_DIR").unwrap_or_else(|_| "pkg".into()))
        .site_addr(bind)
        .build()
}

pub async fn serve(config: ServeConfig) -> anyhow::Result<()> {
    tracing::info!(config = ?config, "starting appcred");
    let db = connect(&config).await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let passwords = hasher();
    passwords.warm_up();

    let admin_password = config.admin_password.as_deref().map(Secret::new);
    let bootstrap = users::bootstrap_admin(&db, &passwords, clock.unix(), admin_password.as_ref())
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))
        .context("creating the first administrator")?;

    let state = build_state(&config, db.clone(), clock.clone(), passwords);
    spawn_housekeeping(db.clone(), clock.clone());
    spawn_usage_flusher(state.clone());
    spawn_refusal_flusher(state.clone());
    spawn_throttle_poller(state.clone());
    // Changes made by other instances or the CLI (`backend::changes`).
    app::backend::changes::spawn(db.clone(), &config.database_url);
    spawn_checkpointer(db.clone(), state.token_writer.clone());

    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .with_context(|| format!("could not listen on {}", config.bind))?;
    print_banner(&config, bootstrap.and_then(|b| b.generated_password));

    crate::serve::serve(listener, crate::router::build(state.clone()), shutdown_signal())
        .await
        .context("server error")?;
    // The last counters of API use, so a clean stop loses none.
    if let Err(e) = state.usage.flush(&state.db.pool).await {
        tracing::error!(error = ?e, "could not write the last API usage counters");
    }
    if let Err(e) = state.refusals.flush(&state.db, state.clock.unix()).await {
        tracing::error!(error = ?e, "could not write the last counts of refused token requests");
    }
    Ok(())
}

/// Runs `task` every `period` for the life of the process; a failure is
/// logged as `failed` and the next tick tries again.
fn spawn_every<F, Fut, E>(period: Duration, failed: &'static str, mut task: F)
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<(), E>> + Send,
    E: std::fmt::Debug,
{
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = task().await {
                tracing::warn!(error = ?e, "{failed}");
            }
        }
    });
}

/// Keeps SQLite's write-ahead log short, so that no commit of issued tokens
/// runs SQLite's automatic checkpoint (`writer::LogPolicy`; nothing to do on
/// PostgreSQL, which manages its own log).
fn spawn_checkpointer(db: Db, writer: app::backend::tokens::writer::TokenWriter) {
    use app::backend::tokens::writer::{checkpoint_tick, LogPolicy};
    if db.kind != app::backend::db::DbKind::Sqlite {
        return;
    }
    let policy = LogPolicy::DEFAULT;
    spawn_every(policy.tick, "could not checkpoint the SQLite write-ahead log", move || {
        let (db, writer) = (db.clone(), writer.clone());
        async move { checkpoint_tick(&db, &writer, &policy).await.map(|_step| ()) }
    });
}

/// Adds the in-memory API usage counters to the database every few seconds
/// (the loss window on a crash; see `backend/usage/`).
fn spawn_usage_flusher(state: AppState) {
    let period = Duration::from_secs(app::backend::usage::FLUSH_INTERVAL_SECS);
    spawn_every(period, "could not write API usage counters; keeping them for the next try", move || {
        let state = state.clone();
        async move { state.usage.flush(&state.db.pool).await }
    });
}

/// Adds the in-memory counts of refused token requests to the database and
/// the audit log every minute (the loss window on a crash; see
/// `backend/refusals/`).
fn spawn_refusal_flusher(state: AppState) {
    let period = Duration::from_secs(app::backend::refusals::FLUSH_INTERVAL_SECS);
    spawn_every(period, "could not write the counts of refused token requests; keeping them", move || {
        let state = state.clone();
        async move { state.refusals.flush(&state.db, state.clock.unix()).await }
    });
}

/// Learns the client-authentication throttle keys that other instances
/// filled, so a block reached elsewhere holds here within this period
/// (`FrontedThrottle::poll`, docs/security.md).
fn spawn_throttle_poller(state: AppState) {
    use app::backend::tokens::service::{PER_ADDRESS, PER_CLIENT_AND_ADDRESS, THROTTLE_PREFIX, WINDOW};
    let period = Duration::from_millis(THROTTLE_POLL_MILLIS);
    let min_limit = PER_CLIENT_AND_ADDRESS.limit.min(PER_ADDRESS.limit);
    spawn_every(period, "could not poll the client-authentication throttle", move || {
        let state = state.clone();
        async move {
            state.oauth_failures.poll(&state.db.pool, THROTTLE_PREFIX, min_limit, WINDOW, state.clock.unix()).await
        }
    });
}

/// How often [`spawn_throttle_poller`] reads the full keys.
pub const THROTTLE_POLL_MILLIS: u64 = 1_000;

/// Tells the operator where to go and how to sign in. A generated admin
/// password is shown here once, on the console only, never in the log.
fn print_banner(config: &ServeConfig, generated: Option<Secret>) {
    println!();
    println!("  appcred is running at {}/", config.public_url);
    match generated {
        Some(password) => {
            println!("  Sign in as:  admin");
            println!("  Password:    {}", password.expose());
            println!("  This password is shown only once. Change it with:");
            println!("    appcred user passwd --username admin --password-stdin");
        }
        None => println!("  Sign in with your appcred account."),
    }
    println!();
}

fn spawn_housekeeping(db: Db, clock: Arc<dyn Clock>) {
    tokio::spawn(async move {
        let store = DbSessionStore::new(&db);
        let mut tick = tokio::time::interval(Duration::from_secs(600));
        loop {
            tick.tick().await;
            if let Err(e) = store.delete_expired().await {
                tracing::warn!(error = %e, "could not delete expired sessions");
            }
            if let Err(e) = throttle::purge_older_than(&db.pool, clock.unix() - 86_400).await {
                tracing::warn!(error = ?e, "could not purge old throttle windows");
            }
            let keep = app::backend::usage::HISTORY_DAYS * app::model::SECS_PER_DAY;
            if let Err(e) = app::backend::refusals::purge_older_than(&db.pool, clock.unix() - keep).await {
                tracing::warn!(error = ?e, "could not purge old counts of refused token requests");
            }
            match app::backend::tokens::service::purge_expired(&db.pool, clock.unix()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(tokens = n, "deleted the rows of long-expired tokens"),
                Err(e) => tracing::warn!(error = ?e, "could not delete long-expired tokens"),
            }
        }
    });
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
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

async fn user_command(db: &Db, cmd: UserCommand) -> anyhow::Result<()> {
    let now = SystemClock.unix();
    let hasher = hasher();
    match cmd {
        UserCommand::Add { username, display_name, roles, password_stdin } => {
            let roles = roles.iter().map(|r| parse_role(r)).collect::<anyhow::Result<Vec<_>>>()?;
            let password = read_password(password_stdin)?;
            let (user, generated) = users::create_user(
                db,
                &hasher,
                now,
                By::Operator,
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
            let (_, generated) = users::set_password(db, &hasher, now, By::Operator, &user.id, password.as_ref())
                .await
                .map_err(from_domain)?;
            if let Some(generated) = generated {
                println!("{}", serde_json::json!({ "username": username, "password": generated.expose() }));
            } else {
                println!("Password changed; all sessions of {username} have ended.");
            }
        }
        UserCommand::Grant { username, role } => {
            let user = users::find_by_username(db, &username).await.map_err(from_domain)?;
            let changed =
                users::grant_role(db, now, By::Operator, &user.id, parse_role(&role)?).await.map_err(from_domain)?;
            println!("{}", if changed { "Granted." } else { "The user already holds that role." });
        }
        UserCommand::Revoke { username, role } => {
            let user = users::find_by_username(db, &username).await.map_err(from_domain)?;
            let changed =
                users::revoke_role(db, now, By::Operator, &user.id, parse_role(&role)?).await.map_err(from_domain)?;
            println!("{}", if changed { "Revoked." } else { "The user does not hold that role." });
        }
        ref c @ (UserCommand::Deactivate { ref username } | UserCommand::Activate { ref username }) => {
            let active = matches!(c, UserCommand::Activate { .. });
            let user = users::find_by_username(db, username).await.map_err(from_domain)?;
            let changed = users::set_active(db, now, By::Operator, &user.id, active).await.map_err(from_domain)?;
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
            let list = users::list_with_roles(db).await.map_err(from_domain)?;
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

fn build_state(config: &ServeConfig, db: Db, clock: Arc<dyn Clock>, passwords: PasswordHasher) -> AppState {
    let token_writer = app::backend::tokens::writer::TokenWriter::start(db.clone());
    AppState::new(app::backend::State {
        db,
        clock,
        passwords,
        leptos_options: leptos_options(&config.site_root, config.bind),
        security: Arc::new(SecurityConfig {
            secure_cookies: config.secure_cookies,
            trusted_proxies: config.trusted_proxies.clone(),
            issuer: config.public_url.clone(),
        }),
        secret_key: config.secret_key.clone(),
        oauth_failures: Default::default(),
        refusals: Default::default(),
        usage: Default::default(),
        token_cache: Default::default(),
        token_writer,
    })
}

/// The configured database, with the keys derived from the server key.
async fn connect(config: &ServeConfig) -> anyhow::Result<Db> {
    connect_with_key(&config.database_url, &config.secret_key).await
}

/// The state the CLI needs to run services without serving.
pub async fn offline_state(config: &ServeConfig) -> anyhow::Result<AppState> {
    let db = connect(config).await?;
    Ok(build_state(config, db, Arc::new(SystemClock), hasher()))
}

/// The principal of an operator acting for `username`: that user's live roles.
async fn act_as(state: &AppState, username: &str) -> anyhow::Result<app::backend::auth::Principal> {
    let user = users::find_by_username(&state.db, username).await.map_err(from_domain)?;
    if !user.active {
        anyhow::bail!("{username} is deactivated");
    }
    let roles = users::active_roles(&state.db, &user.id).await.map_err(from_domain)?;
    Ok(app::backend::auth::Principal {
        user_id: user.id,
        username: user.username,
        display_name: user.display_name,
        roles,
        ip: None,
    })
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
