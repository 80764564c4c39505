//! The database handle. One code path serves SQLite (the embedded default)
//! and PostgreSQL (several instances): queries are plain SQL with `$n`
//! placeholders, which both accept, and every column is `text` or `bigint`
//! so the `Any` driver maps them identically. The conformance of the two is
//! checked by running the same test suite on both.

use anyhow::Context as _;
use sqlx::any::{AnyPoolOptions, AnyQueryResult};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Executor};
use std::sync::Arc;
use std::time::Duration;

pub mod changes;

use changes::{Epoch, RightsChange};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/postgres");

/// The `values` list of a multi-row insert: `rows` tuples of `columns`
/// placeholders, bound in row-major order. SQLite gets anonymous `?`
/// placeholders: sqlx's SQLite driver looks each `$n` up by name, in time
/// linear in the statement's named parameters, so a large `$n` insert costs
/// quadratic time. PostgreSQL gets `$n`.
pub fn values_list(conn: &sqlx::AnyConnection, rows: usize, columns: usize) -> String {
    use std::fmt::Write as _;
    let numbered = conn.backend_name() == "PostgreSQL";
    let mut out = String::with_capacity(rows * columns * 5);
    for r in 0..rows {
        out.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..columns {
            if c > 0 {
                out.push_str(", ");
            }
            if numbered {
                let _ = write!(out, "${}", r * columns + c + 1);
            } else {
                out.push('?');
            }
        }
        out.push(')');
    }
    out
}

/// Ids per statement in [`fetch_in`]: a page of any list, or a CSV export in
/// a few statements, far below the parameters a statement may carry
/// (32,766 on SQLite, 65,535 on PostgreSQL).
pub const IN_LIST_MAX: usize = 500;

/// The rows of `sql(list)` for every id of `ids`, where `list` is an `in`
/// list of placeholders (`(?, ?)`, or `($1, $2)` on PostgreSQL, as
/// [`values_list`] makes them) bound to the ids: the statement's only
/// parameters. One statement per [`IN_LIST_MAX`] ids, none for no ids; so
/// a list reads the related rows of a whole page at once, not one row at a
/// time.
pub async fn fetch_in<R>(
    conn: &mut sqlx::AnyConnection,
    ids: &[&str],
    sql: impl Fn(&str) -> String,
) -> sqlx::Result<Vec<R>>
where
    R: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
{
    let mut rows = Vec::new();
    for chunk in ids.chunks(IN_LIST_MAX) {
        let sql = sql(&values_list(conn, 1, chunk.len()));
        let mut q = sqlx::query_as::<_, R>(&sql);
        for id in chunk {
            q = q.bind(*id);
        }
        rows.extend(q.fetch_all(&mut *conn).await?);
    }
    Ok(rows)
}

/// Escapes `%`, `_` and the backslash for a `like … escape` pattern.
pub fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DbKind {
    Sqlite,
    Postgres,
}

#[derive(Clone, Debug)]
pub struct Db {
    pub pool: AnyPool,
    pub kind: DbKind,
    /// The cache epoch and how changes reach this process (`changes`).
    changes: Arc<Epoch>,
    /// The SQLite database file, opened for [`Db::sync_file`].
    sqlite_file: Option<Arc<std::fs::File>>,
    /// The keys derived from the server key (`backend/keys.rs`), set by
    /// [`Db::with_keys`]: the audit chain and the session store need them.
    keys: Option<Arc<crate::backend::keys::DerivedKeys>>,
}

impl DbKind {
    pub fn from_url(url: &str) -> anyhow::Result<Self> {
        if url.starts_with("sqlite:") {
            Ok(DbKind::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(DbKind::Postgres)
        } else {
            anyhow::bail!(
                "DATABASE_URL must start with sqlite: or postgres:// (got a URL with scheme {:?})",
                url.split(':').next().unwrap_or("")
            )
        }
    }
}

impl Db {
    /// Connects and applies pending migrations. Any failure stops start-up.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let kind = DbKind::from_url(url)?;
        let (url, sqlite_path) = match kind {
            DbKind::Sqlite => prepare_sqlite_url(url)?,
            DbKind::Postgres => (url.to_string(), None),
        };
        let options = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(10));
        let pool = match kind {
            DbKind::Sqlite => {
                options
                    .max_connections(8)
                    // A local file cannot drop the connection the way a network
                    // can: skip the ping (a round trip to the driver's thread)
                    // that would otherwise precede every use.
                    .test_before_acquire(false)
                    .after_connect(|conn, _meta| {
                        Box::pin(async move {
                            // WAL: readers don't block the writer; NORMAL is durable
                            // across process crashes in WAL mode. The server
                            // checkpoints in the background (`writer::LogPolicy`);
                            // the automatic checkpoint, which runs inside the
                            // committing transaction and stalls it, is only a
                            // backstop at 40 MB of WAL. No memory map: the
                            // database grows with every checkpoint, and each
                            // read transaction that then sees a larger file
                            // unmaps and remaps it, which flushes the TLB of
                            // every core (docs/benchmarks.md, fifth measurement).
                            conn.execute(
                                "pragma journal_mode = wal; pragma synchronous = normal; \
                                 pragma foreign_keys = on; pragma busy_timeout = 10000; \
                                 pragma cache_size = -8192; pragma mmap_size = 0; \
                                 pragma temp_store = memory; pragma wal_autocheckpoint = 10000;",
                            )
                            .await?;
                            Ok(())
                        })
                    })
                    .connect(&url)
                    .await
            }
            DbKind::Postgres => options.max_connections(16).connect(&url).await,
        }
        .with_context(|| format!("could not connect to the {kind:?} database"))?;
        // The pool has created the file by now.
        let sqlite_file = match &sqlite_path {
            Some(path) => {
                Some(Arc::new(std::fs::File::open(path).with_context(|| format!("could not open {}", path.display()))?))
            }
            None => None,
        };
        let changes = Arc::new(Epoch::new(kind, sqlite_path.as_deref())?);
        let db = Db { pool, kind, changes, sqlite_file, keys: None };
        db.migrate().await?;
        Ok(db)
    }

    /// The cache epoch caches may be used in, or `None` when this process
    /// cannot confirm that it is current (then every answer is read from
    /// the database: `changes`, "fail closed").
    pub fn epoch(&self) -> Option<u64> {
        self.changes.current()
    }

    /// This handle with the server's derived keys. The server, the CLI and
    /// the tests set them right after [`Db::connect`].
    pub fn with_keys(mut self, keys: Arc<crate::backend::keys::DerivedKeys>) -> Self {
        self.keys = Some(keys);
        self
    }

    /// The derived keys; an error (never an unkeyed write) when the handle
    /// was made without them.
    pub fn keys(&self) -> anyhow::Result<&Arc<crate::backend::keys::DerivedKeys>> {
        self.keys.as_ref().context("this database handle carries no keys (Db::with_keys was not called)")
    }

    pub fn changes(&self) -> &Epoch {
        &self.changes
    }

    /// Begins a transaction that changes what a cached answer may say; its
    /// commit publishes the change to every process ([`RightsChange`]).
    pub async fn begin_rights_change(&self) -> crate::backend::Result<RightsChange<'_>> {
        Ok(RightsChange::new(self.pool.begin().await?, self))
    }

    /// One backstop poll of the shared counter (`changes::poll`).
    pub async fn poll_epoch(&self) -> crate::backend::Result<()> {
        crate::backend::db::changes::poll(&self.pool, &self.changes).await
    }

    /// A passive SQLite checkpoint on a pooled connection: copies what the
    /// write-ahead log holds into the database without blocking writers or
    /// readers. Nothing to do on PostgreSQL.
    pub async fn checkpoint(&self) -> sqlx::Result<Checkpoint> {
        if self.kind != DbKind::Sqlite {
            return Ok(Checkpoint::default());
        }
        Checkpoint::run(&mut *self.pool.acquire().await?).await
    }

    /// Flushes the SQLite database file to disk (nothing on PostgreSQL).
    ///
    /// A checkpoint that copies only part of the log (as one beside a busy
    /// writer does) writes pages into the database file without syncing
    /// it; only the one that copies the whole log syncs, and so flushes
    /// everything the partial ones wrote. Syncing here first, off the
    /// writer's path, leaves that one little to flush.
    pub async fn sync_file(&self) -> crate::backend::Result<()> {
        let Some(file) = self.sqlite_file.clone() else {
            return Ok(());
        };
        tokio::task::spawn_blocking(move || file.sync_data())
            .await
            .map_err(|e| anyhow::anyhow!("the sync task failed: {e}"))?
            .context("could not sync the database file")?;
        Ok(())
    }

    pub async fn migrate(&self) -> anyhow::Result<()> {
        let migrator = match self.kind {
            DbKind::Sqlite => &SQLITE_MIGRATIONS,
            DbKind::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator
            .run(&self.pool)
            .await
            .context("database migration failed; the server will not start on a schema it does not understand")
    }

    /// Liveness of the database, for `/healthz`.
    pub async fn ping(&self) -> sqlx::Result<()> {
        sqlx::query("select 1").execute(&self.pool).await.map(|_: AnyQueryResult| ())
    }
}

/// What a passive SQLite checkpoint found (`pragma wal_checkpoint`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Checkpoint {
    /// Frames in the write-ahead log when the checkpoint began. The log
    /// starts over (and this drops) only at a commit that finds every frame
    /// already copied into the database.
    pub log_frames: i64,
    /// Frames of it now copied into the database.
    pub copied_frames: i64,
}

impl Checkpoint {
    /// Runs a passive checkpoint on `conn` (SQLite only).
    pub async fn run(conn: &mut sqlx::AnyConnection) -> sqlx::Result<Self> {
        use sqlx::Row as _;
        let row = sqlx::query("pragma wal_checkpoint(passive)").fetch_one(conn).await?;
        Ok(Checkpoint { log_frames: row.try_get(1)?, copied_frames: row.try_get(2)? })
    }
}

/// `Ok(true)` when a write went through, `Ok(false)` when it hit a unique
/// constraint (a name or username already taken), the error otherwise.
pub fn unless_unique_violation(res: Result<AnyQueryResult, sqlx::Error>) -> crate::backend::Result<bool> {
    match res {
        Ok(_) => Ok(true),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// The tables whose rows hold a secret shown once and kept as a keyed
/// digest, with its version, and are deleted by marking them
/// (`0002_credentials.sql`, `0011_protected_apis.sql`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretTable {
    Credentials,
    ProtectedApis,
}

impl SecretTable {
    fn name(self) -> &'static str {
        match self {
            SecretTable::Credentials => "credentials",
            SecretTable::ProtectedApis => "protected_apis",
        }
    }
}

/// Stores a live row's new secret digest and moves its secret version on;
/// `false` when the row is gone. A new secret changes what a cache may
/// answer, so this takes a [`RightsChange`].
pub async fn set_secret(
    tx: &mut RightsChange<'_>,
    table: SecretTable,
    id: &str,
    digest: &str,
    now: i64,
) -> crate::backend::Result<bool> {
    let sql = format!(
        "update {} set secret_digest = $1, secret_version = secret_version + 1, secret_rotated_at = $2, \
         updated_at = $2 where id = $3 and deleted_at is null",
        table.name()
    );
    let res = sqlx::query(&sql).bind(digest).bind(now).bind(id).execute(&mut **tx).await?;
    Ok(res.rows_affected() == 1)
}

/// Marks a live row deleted; `false` when it already was.
pub async fn mark_deleted(
    tx: &mut RightsChange<'_>,
    table: SecretTable,
    id: &str,
    now: i64,
) -> crate::backend::Result<bool> {
    let sql =
        format!("update {} set deleted_at = $1, updated_at = $1 where id = $2 and deleted_at is null", table.name());
    let res = sqlx::query(&sql).bind(now).bind(id).execute(&mut **tx).await?;
    Ok(res.rows_affected() == 1)
}

/// Creates `dir` and any missing parents readable by this user only (0700);
/// existing directories are left as they are (start-up warns about open
/// ones, `server/src/files.rs`).
pub fn create_private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Makes sure the directory of a file-backed SQLite URL exists and that the
/// file is created on first use; returns the URL and the file's path.
fn prepare_sqlite_url(url: &str) -> anyhow::Result<(String, Option<std::path::PathBuf>)> {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path.is_empty() || path == ":memory:" {
        anyhow::bail!("an in-memory SQLite database would lose everything at restart; give a file path");
    }
    if let Some(parent) = std::path::Path::new(path).parent() {
        if !parent.as_os_str().is_empty() {
            create_private_dir(parent)
                .with_context(|| format!("could not create the database directory {}", parent.display()))?;
        }
    }
    let mut url = format!("sqlite://{path}");
    if query.is_empty() {
        url.push_str("?mode=rwc");
    } else {
        url.push('?');
        url.push_str(query);
        if !query.contains("mode=") {
            url.push_str("&mode=rwc");
        }
    }
    Ok((url, Some(path.into())))
}

// --- dynamic filters --------------------------------------------------------------

/// A bound query parameter.
pub enum Arg {
    Text(String),
    Int(i64),
}

/// A `where` clause with its parameters, numbered as they are added.
#[derive(Default)]
pub struct Where {
    clauses: Vec<String>,
    pub args: Vec<Arg>,
}

impl Where {
    /// Adds a clause; `?` in it becomes the next parameter (all of them the
    /// same parameter, so one value can be compared twice).
    pub fn push(&mut self, clause: &str, arg: Arg) {
        self.args.push(arg);
        self.clauses.push(clause.replace('?', &format!("${}", self.args.len())));
    }

    pub fn raw(&mut self, clause: &str) {
        self.clauses.push(clause.to_string());
    }

    pub fn sql(&self) -> String {
        if self.clauses.is_empty() {
            "true".to_string()
        } else {
            self.clauses.join(" and ")
        }
    }

    pub fn next(&self) -> usize {
        self.args.len() + 1
    }
}

/// Binds a [`Where`]'s parameters, in order, to a query of any of sqlx's
/// query types.
macro_rules! bind_args {
    ($q:expr, $args:expr) => {{
        let mut q = $q;
        for a in $args {
            q = match a {
                $crate::backend::db::Arg::Text(s) => q.bind(s.clone()),
                $crate::backend::db::Arg::Int(i) => q.bind(*i),
            };
        }
        q
    }};
}
pub(crate) use bind_args;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backend_is_chosen_from_the_url_scheme() {
        assert_eq!(DbKind::from_url("sqlite://data/a.db").unwrap(), DbKind::Sqlite);
        assert_eq!(DbKind::from_url("postgres:///x?host=/run").unwrap(), DbKind::Postgres);
        assert!(DbKind::from_url("mysql://x").is_err());
    }

    #[test]
    fn sqlite_urls_are_created_on_first_use() {
        let dir = std::env::temp_dir().join(format!("appcred-url-{}", std::process::id()));
        let file = dir.join("x.db");
        let (url, path) = prepare_sqlite_url(&format!("sqlite://{}", file.display())).unwrap();
        assert!(url.ends_with("?mode=rwc"));
        assert_eq!(path, Some(file.clone()));
        assert!(dir.exists());
        assert!(prepare_sqlite_url("sqlite::memory:").is_err());
    }
}
