//! Start-up of a serving process: connecting to the database, building the
//! application state (with the one builder that the CLI and the tests use
//! too), the background tasks, and serving until a signal.

use crate::config::ServeConfig;
use anyhow::Context as _;
use app::backend::auth::session_store::DbSessionStore;
use app::backend::keys::DerivedKeys;
use app::backend::password::PasswordHasher;
use app::backend::secrets::{Secret, SecretKey};
use app::backend::throttle;
use app::backend::users::service as users;
use app::backend::{AppState, Clock, Db, SecurityConfig, SystemClock};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// Connects (and migrates) with the keys derived from `key`.
pub async fn connect_with_key(database_url: &str, key: &app::backend::secrets::SecretKey) -> anyhow::Result<Db> {
    Ok(Db::connect(database_url).await?.with_keys(Arc::new(DerivedKeys::derive(key))))
}

pub fn hasher() -> PasswordHasher {
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

    let state = state_from_config(&config, db.clone(), clock.clone(), passwords);
    spawn_housekeeping(db.clone(), clock.clone());
    spawn_usage_flusher(state.clone());
    spawn_refusal_flusher(state.clone());
    spawn_throttle_poller(state.clone());
    // Changes made by other instances or the CLI (`backend::db::changes`).
    app::backend::db::changes::spawn(db.clone(), &config.database_url);
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

/// The application state: the one builder of it, for the serving binary,
/// the CLI and the tests. It starts the group-commit writer of issued
/// tokens; the background tasks are [`serve`]'s.
pub fn build_state(
    db: Db,
    clock: Arc<dyn Clock>,
    passwords: PasswordHasher,
    leptos_options: leptos::config::LeptosOptions,
    security: SecurityConfig,
    secret_key: Arc<SecretKey>,
) -> AppState {
    let token_writer = app::backend::tokens::writer::TokenWriter::start(db.clone());
    AppState::new(app::backend::State {
        db,
        clock,
        passwords,
        leptos_options,
        security: Arc::new(security),
        secret_key,
        oauth_failures: Default::default(),
        refusals: Default::default(),
        usage: Default::default(),
        token_cache: Default::default(),
        token_writer,
    })
}

/// [`build_state`] as the configuration asks.
pub fn state_from_config(config: &ServeConfig, db: Db, clock: Arc<dyn Clock>, passwords: PasswordHasher) -> AppState {
    let security = SecurityConfig {
        secure_cookies: config.secure_cookies,
        trusted_proxies: config.trusted_proxies.clone(),
        issuer: config.public_url.clone(),
    };
    let options = leptos_options(&config.site_root, config.bind);
    build_state(db, clock, passwords, options, security, config.secret_key.clone())
}

/// The configured database, with the keys derived from the server key.
pub async fn connect(config: &ServeConfig) -> anyhow::Result<Db> {
    connect_with_key(&config.database_url, &config.secret_key).await
}
