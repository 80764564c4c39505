//! Changes that can make a cached answer wrong: how they are committed, and
//! how every process learns of them (docs/decisions/0005-revocation-under-races.md).
//!
//! The token paths answer from caches that are valid for one *cache epoch*
//! (`tokens::cache`). A change that can make a cached answer wrong (a role
//! granted or removed, a user deactivated, a credential edited, regenerated
//! or deleted, General Settings changed, a token revoked) commits through
//! [`RightsChange::commit`], the only way to commit one: it publishes the
//! change in the same step, so forgetting to publish is impossible by type.
//! Repository functions that make such changes take a `&mut RightsChange`.
//!
//! Publishing moves the epoch three ways:
//! - **this process**: at once, after the commit;
//! - **other processes on the same host and SQLite file** (another server,
//!   the CLI): a counter in a small memory-mapped file beside the database
//!   (`<database>-epoch`), bumped after each commit and read on every
//!   request, for the cost of one atomic load;
//! - **other instances on PostgreSQL**: `NOTIFY` in the committing
//!   transaction (delivered when, and only if, it commits), received by each
//!   instance's `LISTEN` connection ([`listen`]). A lost connection counts as
//!   a change, since notifications sent meanwhile are gone.
//!
//! Every instance also polls the shared `cache_epoch` row every
//! [`POLL_MILLIS`] as a backstop (it catches direct SQL edits that bump it).
//!
//! **Fail closed.** On PostgreSQL an instance answers from its caches only
//! while it can confirm it is current: its own ping came back through the
//! push channel, or a poll succeeded, within twice the poll interval.
//! Otherwise [`Epoch::current`] is `None` and every answer is read from the
//! database (503 `temporarily_unavailable` when that fails too). On SQLite
//! the memory-mapped counter is the push channel and cannot be lost.

use crate::backend::db::DbKind;
use sqlx::{Any, AnyConnection, AnyPool, Transaction};
use std::path::Path;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The backstop poll of `cache_epoch` (and, on PostgreSQL, the ping that
/// proves the push channel is alive).
pub const POLL_MILLIS: u64 = 1000;
/// With no confirmation for this long, an instance stops trusting its caches.
pub const CONFIRMATION_MILLIS: u64 = 2 * POLL_MILLIS;
/// The PostgreSQL notification channel.
pub const CHANNEL: &str = "appcred_changes";
const CHANGE_PAYLOAD: &str = "change";
const PING_PREFIX: &str = "ping:";

/// A counter shared by every process that opens the same SQLite file.
struct SharedCounter {
    map: memmap2::MmapMut,
}

impl SharedCounter {
    fn open(path: &Path) -> std::io::Result<Self> {
        let file = std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path)?;
        if file.metadata()?.len() < 8 {
            // Two processes racing here both write zeros: harmless.
            file.set_len(8)?;
        }
        // SAFETY: the file is at least 8 bytes long and only ever grows
        // (no process of ours truncates it); the mapping lives as long as
        // `self`, and it is used only through the atomic below.
        #[allow(unsafe_code)]
        let map = unsafe { memmap2::MmapOptions::new().len(8).map_mut(&file)? };
        Ok(SharedCounter { map })
    }

    fn counter(&self) -> &AtomicU64 {
        // SAFETY: a mapping starts on a page boundary, so it is aligned for
        // a u64; it is 8 bytes long and outlives the reference. Atomics on
        // a shared mapping are coherent across processes.
        #[allow(unsafe_code)]
        unsafe {
            &*(self.map.as_ptr() as *const AtomicU64)
        }
    }
}

/// The cache epoch of this process, and how sure it is of it.
pub struct Epoch {
    /// Moves at every change published here, notified, or seen by a poll.
    local: AtomicU64,
    /// SQLite: the counter every process on the file bumps.
    shared: Option<SharedCounter>,
    /// `cache_epoch.version` when last polled.
    remote_seen: AtomicI64,
    /// Whether the caches need confirmation (PostgreSQL).
    needs_confirmation: bool,
    started: Instant,
    /// Milliseconds since `started` of the last successful poll, and of the
    /// last own ping received through the push channel.
    polled_at: AtomicU64,
    pushed_at: AtomicU64,
    /// Tells this instance's pings from the others'.
    instance: String,
}

impl std::fmt::Debug for Epoch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Epoch").field("local", &self.local).field("shared", &self.shared.is_some()).finish()
    }
}

impl Epoch {
    /// `sqlite_file`: the database file, beside which the shared counter
    /// lives (SQLite only).
    pub fn new(kind: DbKind, sqlite_file: Option<&Path>) -> anyhow::Result<Self> {
        use anyhow::Context as _;
        let shared = match sqlite_file {
            Some(db) => {
                let mut path = db.as_os_str().to_owned();
                path.push("-epoch");
                let path = std::path::PathBuf::from(path);
                Some(SharedCounter::open(&path).with_context(|| format!("could not map {}", path.display()))?)
            }
            None => None,
        };
        Ok(Epoch {
            local: AtomicU64::new(0),
            shared,
            remote_seen: AtomicI64::new(-1),
            needs_confirmation: kind == DbKind::Postgres,
            started: Instant::now(),
            polled_at: AtomicU64::new(0),
            pushed_at: AtomicU64::new(0),
            instance: uuid::Uuid::new_v4().simple().to_string(),
        })
    }

    fn millis(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// The epoch caches may be used in, or `None` when this instance cannot
    /// confirm it is current (then nothing may be answered from a cache).
    pub fn current(&self) -> Option<u64> {
        if self.needs_confirmation {
            let last = self.polled_at.load(Ordering::Acquire).max(self.pushed_at.load(Ordering::Acquire));
            if self.millis().saturating_sub(last) > CONFIRMATION_MILLIS {
                return None;
            }
        }
        let shared = self.shared.as_ref().map_or(0, |s| s.counter().load(Ordering::SeqCst));
        Some(self.local.load(Ordering::SeqCst).wrapping_add(shared))
    }

    /// After a commit made here: every process drops what it cached before.
    fn published(&self) {
        if let Some(s) = &self.shared {
            s.counter().fetch_add(1, Ordering::SeqCst);
        }
        self.local.fetch_add(1, Ordering::SeqCst);
    }

    /// A change was (or may have been) made elsewhere.
    fn moved(&self) {
        self.local.fetch_add(1, Ordering::SeqCst);
    }

    /// A notification arrived on [`CHANNEL`].
    pub fn notified(&self, payload: &str) {
        match payload.strip_prefix(PING_PREFIX) {
            Some(id) if id == self.instance => self.pushed_at.store(self.millis(), Ordering::Release),
            Some(_) => {}
            None => self.moved(),
        }
    }

    /// The shared counter read by a poll.
    fn polled(&self, version: i64) {
        if self.remote_seen.swap(version, Ordering::SeqCst) != version {
            self.moved();
        }
        self.polled_at.store(self.millis(), Ordering::Release);
    }

    /// Forgets every confirmation, as if the push channel and the polls had
    /// stopped (tests of the fail-closed rule).
    #[cfg(test)]
    fn forget_confirmations(&self) {
        self.polled_at.store(0, Ordering::Release);
        self.pushed_at.store(0, Ordering::Release);
    }

    fn ping_sql(&self) -> String {
        // The id is 32 hex digits: nothing to escape.
        format!("notify {CHANNEL}, '{PING_PREFIX}{}'", self.instance)
    }
}

/// A transaction that changes what a cached answer may say. Its
/// [`commit`](RightsChange::commit) publishes the change; there is no other
/// way to commit it. Dropping it rolls back and publishes nothing.
pub struct RightsChange<'a> {
    tx: Transaction<'static, Any>,
    db: &'a crate::backend::Db,
}

impl<'a> RightsChange<'a> {
    pub(crate) fn new(tx: Transaction<'static, Any>, db: &'a crate::backend::Db) -> Self {
        RightsChange { tx, db }
    }

    /// Moves the user's rights generation on (every change to a user's
    /// rights or to their credentials' roles does, in its transaction) and
    /// returns the new one. With `end_tokens`, every token issued under an
    /// older generation is dead from the commit on (`tokens::rules`).
    pub async fn bump_rights(&mut self, user_id: &str, end_tokens: bool) -> crate::backend::Result<i64> {
        let sql = if end_tokens {
            "update users set rights_gen = rights_gen + 1, tokens_valid_gen = rights_gen + 1 where id = $1 \
             returning rights_gen"
        } else {
            "update users set rights_gen = rights_gen + 1 where id = $1 returning rights_gen"
        };
        Ok(sqlx::query_scalar(sql).bind(user_id).fetch_one(&mut *self.tx).await?)
    }

    /// Commits, then moves the epoch of every process: in the transaction,
    /// the shared `cache_epoch` row (for the polls) and, on PostgreSQL, a
    /// `NOTIFY` that is delivered when the commit lands; after it, this
    /// process's epoch and the host's shared counter.
    pub async fn commit(mut self) -> crate::backend::Result<()> {
        sqlx::query("update cache_epoch set version = version + 1 where id = 1").execute(&mut *self.tx).await?;
        if self.db.kind == DbKind::Postgres {
            sqlx::query(&format!("notify {CHANNEL}, '{CHANGE_PAYLOAD}'")).execute(&mut *self.tx).await?;
        }
        self.tx.commit().await?;
        self.db.changes().published();
        Ok(())
    }
}

impl std::ops::Deref for RightsChange<'_> {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        &self.tx
    }
}

impl std::ops::DerefMut for RightsChange<'_> {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }
}

/// One backstop poll: reads the shared counter and, on PostgreSQL, sends
/// this instance's ping through the push channel.
pub async fn poll(pool: &AnyPool, epoch: &Epoch) -> crate::backend::Result<()> {
    let version: i64 = sqlx::query_scalar("select version from cache_epoch where id = 1").fetch_one(pool).await?;
    epoch.polled(version);
    if epoch.needs_confirmation {
        sqlx::query(&epoch.ping_sql()).execute(pool).await?;
    }
    Ok(())
}

/// Receives the notifications of every instance's changes (PostgreSQL),
/// on a connection of its own outside the pool, for as long as the
/// process runs. Reconnects after a failure; a reconnect counts as a change.
pub async fn listen(db: crate::backend::Db, url: String) {
    use sqlx::postgres::PgListener;
    let epoch = db.changes();
    loop {
        let mut listener = match PgListener::connect(&url).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "the change listener could not connect; retrying");
                tokio::time::sleep(Duration::from_millis(POLL_MILLIS)).await;
                continue;
            }
        };
        if let Err(e) = listener.listen(CHANNEL).await {
            tracing::warn!(error = %e, "the change listener could not LISTEN; retrying");
            tokio::time::sleep(Duration::from_millis(POLL_MILLIS)).await;
            continue;
        }
        // Changes made before the LISTEN took effect were not heard.
        epoch.moved();
        loop {
            match listener.try_recv().await {
                Ok(Some(n)) => epoch.notified(n.payload()),
                Ok(None) => {
                    tracing::warn!("the change listener lost its connection and reconnected");
                    epoch.moved();
                }
                Err(e) => {
                    tracing::warn!(error = %e, "the change listener failed; reconnecting");
                    epoch.moved();
                    break;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Starts the backstop poll and, on PostgreSQL, the listener: what every
/// serving process runs (the server, and the test harness's instances).
pub fn spawn(db: crate::backend::Db, url: &str) {
    if db.kind == DbKind::Postgres {
        tokio::spawn(listen(db.clone(), url.to_string()));
    }
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(POLL_MILLIS));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut failing = false;
        loop {
            tick.tick().await;
            match poll(&db.pool, db.changes()).await {
                Ok(()) => failing = false,
                Err(e) if !failing => {
                    failing = true;
                    tracing::warn!(error = ?e, "the cache epoch poll failed; caches are trusted only while the push channel confirms them");
                }
                Err(_) => {}
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_confirmation_postgres_caches_are_not_trusted() {
        let e = Epoch::new(DbKind::Postgres, None).unwrap();
        assert!(e.current().is_some(), "just started");
        e.polled(3);
        assert!(e.current().is_some());
        e.forget_confirmations();
        // `started` is now; pretend the last confirmation was long ago.
        let e = Epoch { started: Instant::now() - Duration::from_millis(CONFIRMATION_MILLIS + 10), ..e };
        assert_eq!(e.current(), None, "no poll and no ping for too long");
        e.notified(&format!("{PING_PREFIX}someone-else"));
        assert_eq!(e.current(), None, "another instance's ping proves nothing");
        e.notified(&format!("{PING_PREFIX}{}", e.instance));
        assert!(e.current().is_some(), "our own ping came back");
    }

    #[test]
    fn a_change_notification_or_a_moved_counter_moves_the_epoch() {
        let e = Epoch::new(DbKind::Postgres, None).unwrap();
        e.polled(1);
        let a = e.current().unwrap();
        e.polled(1);
        assert_eq!(e.current(), Some(a), "the same version is no change");
        e.polled(2);
        let b = e.current().unwrap();
        assert_ne!(a, b);
        e.notified(CHANGE_PAYLOAD);
        assert_ne!(e.current().unwrap(), b);
    }

    #[test]
    fn processes_on_one_sqlite_file_share_the_counter() {
        let dir = std::env::temp_dir().join(format!("appcred-epoch-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let db = dir.join("x.db");
        let one = Epoch::new(DbKind::Sqlite, Some(&db)).unwrap();
        let two = Epoch::new(DbKind::Sqlite, Some(&db)).unwrap();
        let before = two.current().unwrap();
        one.published();
        assert_ne!(two.current().unwrap(), before, "a commit in one is seen by the other at once");
        // SQLite needs no confirmation: the counter cannot be lost.
        two.forget_confirmations();
        assert!(two.current().is_some());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
