//! Group commit for issued tokens. Each token request hands its token row
//! and its audit event to one writer task and waits; the writer takes
//! everything queued (up to [`MAX_BATCH`]), writes it in one transaction
//! (one statement for the tokens, one for their audit events),
//! commits, and only then releases the waiting requests. So every token a
//! client receives is already durable, while the database sees one commit
//! per batch instead of one per token.
//!
//! On SQLite the writer also finishes the checkpoints that keep the
//! write-ahead log short ([`LogPolicy`], [`checkpoint_tick`]).

use super::repo::NewToken;
use crate::backend::audit::{self, Event};
use crate::backend::db::{Checkpoint, Db};
use crate::backend::{Error, Result};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Connection};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

/// Tokens per transaction at most.
pub const MAX_BATCH: usize = 256;
/// Requests waiting for the writer at most; beyond it they wait to queue.
const QUEUE: usize = 4096;

struct Job {
    token: NewToken,
    event: Event,
    done: oneshot::Sender<std::result::Result<(), String>>,
}

/// What the writer task is asked to do. Nearly every request is a `Store`,
/// so boxing it (as the size lint would have it) would add an allocation
/// per issued token to spare a few bytes on the rare checkpoint.
#[allow(clippy::large_enum_variant)]
enum Request {
    Store(Job),
    /// A passive checkpoint on the writer's own connection, between batches.
    Checkpoint(oneshot::Sender<std::result::Result<Checkpoint, String>>),
}

/// The handle requests use; cheap to clone.
#[derive(Clone, Debug)]
pub struct TokenWriter {
    queue: mpsc::Sender<Request>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job").field("credential_id", &self.token.credential_id).finish()
    }
}

impl TokenWriter {
    /// Starts the writer task on the current runtime.
    pub fn start(db: crate::backend::Db) -> Self {
        let (queue, jobs) = mpsc::channel(QUEUE);
        tokio::spawn(run(db, jobs));
        TokenWriter { queue }
    }

    /// Stores the token and its audit event; returns once they are committed.
    pub async fn write(&self, token: NewToken, event: Event) -> Result<()> {
        self.ask(|done| Request::Store(Job { token, event, done }), "storing issued tokens").await
    }

    /// SQLite only: a passive checkpoint run by the writer itself, after the
    /// batch in progress and before the next. No commit can land while it
    /// runs, so (unless a reader still uses old frames) it copies the whole
    /// log, and the next commit starts the log over.
    pub async fn checkpoint(&self) -> Result<Checkpoint> {
        self.ask(Request::Checkpoint, "the writer's checkpoint").await
    }

    /// Queues a request and waits for the writer's answer to it.
    async fn ask<T>(
        &self,
        request: impl FnOnce(oneshot::Sender<std::result::Result<T, String>>) -> Request,
        what: &str,
    ) -> Result<T> {
        let (done, answer) = oneshot::channel();
        self.queue.send(request(done)).await.map_err(|_| anyhow::anyhow!("the token writer has stopped"))?;
        answer
            .await
            .map_err(|_| anyhow::anyhow!("the token writer dropped a request"))?
            .map_err(|e| anyhow::anyhow!("{what} failed: {e}").into())
    }
}

/// How the server keeps SQLite's write-ahead log short under load.
///
/// SQLite starts the log over only at a commit that finds every frame of it
/// already copied into the database. A passive checkpoint from another
/// connection runs while the writer goes on committing, so under steady
/// load it never catches up, and the log grows until SQLite's automatic
/// checkpoint runs *inside* a commit, copies thousands of frames there and
/// stalls every waiting token request for 15–40 ms (docs/benchmarks.md,
/// sixth and seventh measurements). Instead, each tick:
///
/// 1. a passive checkpoint from a pooled connection copies the bulk of the
///    log, concurrently with the writer;
/// 2. when the log has not started over by itself (at least
///    `restart_frames` long), further passive checkpoints follow at once,
///    each with less left to copy, until one takes less than `catch_up`;
/// 3. the database file is synced (the partial passes wrote into it
///    without syncing; the pass that copies the whole log must sync it);
/// 4. then the writer runs one more pass between two batches: with only a
///    few commits left to copy it holds issuance for one short copy and two
///    small syncs, and the next commit starts the log over.
///
/// After `max_rounds` slow passes (a long reader holding old frames, or a
/// slow disk) the writer finishes anyway, so the log stays bounded.
#[derive(Clone, Copy, Debug)]
pub struct LogPolicy {
    pub tick: Duration,
    pub restart_frames: i64,
    pub catch_up: Duration,
    pub max_rounds: u32,
}

impl LogPolicy {
    /// Measured on the 2-core benchmark machine (docs/benchmarks.md,
    /// seventh measurement): a 200 ms tick or a 2,000-frame threshold
    /// (a longer-lived log) raised issuance p99; 50 ms or 300 frames did
    /// not lower it.
    pub const DEFAULT: LogPolicy = LogPolicy {
        tick: Duration::from_millis(100),
        restart_frames: 1000,
        catch_up: Duration::from_millis(4),
        max_rounds: 6,
    };

    /// What to do after a passive checkpoint that found `found` and took
    /// `took`, the `round`th of this tick.
    pub fn next(&self, found: Checkpoint, took: Duration, round: u32) -> Step {
        if found.log_frames < self.restart_frames {
            Step::Rest
        } else if took < self.catch_up || round >= self.max_rounds {
            Step::WriterFinishes
        } else {
            Step::Again
        }
    }
}

/// The step after a background checkpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// The log is short: wait for the next tick.
    Rest,
    /// Copy again from the pooled connection, right away.
    Again,
    /// Ask the writer to copy the rest between two batches.
    WriterFinishes,
}

/// One tick of [`LogPolicy`]: returns the step that ended it.
pub async fn checkpoint_tick(db: &Db, writer: &TokenWriter, policy: &LogPolicy) -> Result<Step> {
    let mut round = 0;
    loop {
        round += 1;
        let started = Instant::now();
        let found = db.checkpoint().await?;
        match policy.next(found, started.elapsed(), round) {
            Step::Again => continue,
            Step::Rest => return Ok(Step::Rest),
            Step::WriterFinishes => {
                db.sync_file().await?;
                writer.checkpoint().await?;
                return Ok(Step::WriterFinishes);
            }
        }
    }
}

async fn run(db: crate::backend::Db, mut jobs: mpsc::Receiver<Request>) {
    let pool = db.pool.clone();
    // The writer keeps one connection for itself. On SQLite that keeps its
    // page cache warm: a pooled connection used by turns finds its cache
    // stale after the other connections' commits and rereads the pages it
    // appends to (docs/benchmarks.md, sixth measurement). After a failure it
    // goes back to the pool, and the next batch acquires one again.
    let mut conn: Option<PoolConnection<Any>> = None;
    while let Some(first) = jobs.recv().await {
        let first = match first {
            Request::Store(job) => job,
            Request::Checkpoint(done) => {
                let _ = done.send(checkpoint_on(&pool, &mut conn).await);
                continue;
            }
        };
        let mut batch = vec![first];
        // A checkpoint asked for while the batch fills runs right after it.
        let mut checkpoint = None;
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(Request::Store(job)) => batch.push(job),
                Ok(Request::Checkpoint(done)) => {
                    checkpoint = Some(done);
                    break;
                }
                Err(_) => break,
            }
        }
        let mut tokens = Vec::with_capacity(batch.len());
        let mut events = Vec::with_capacity(batch.len());
        let mut waiting = Vec::with_capacity(batch.len());
        for job in batch {
            events.push((job.token.issued_at, job.event));
            tokens.push(job.token);
            waiting.push(job.done);
        }
        let outcome = async {
            let mut held = take_or_acquire(&pool, &mut conn).await?;
            write_batch(&db, &mut held, &tokens, events).await?;
            conn = Some(held);
            Ok::<_, Error>(())
        }
        .await
        .map_err(|e| {
            tracing::error!(error = ?e, tokens = tokens.len(), "could not store issued tokens");
            "database error".to_string()
        });
        for done in waiting {
            let _ = done.send(outcome.clone());
        }
        if let Some(done) = checkpoint {
            let _ = done.send(checkpoint_on(&pool, &mut conn).await);
        }
    }
}

/// A passive checkpoint on the writer's own connection (taken from the pool
/// if it has none), which it keeps for the next batch.
async fn checkpoint_on(
    pool: &AnyPool,
    conn: &mut Option<PoolConnection<Any>>,
) -> std::result::Result<Checkpoint, String> {
    let mut held = take_or_acquire(pool, conn).await.map_err(|e| e.to_string())?;
    if held.backend_name() != "SQLite" {
        *conn = Some(held);
        return Ok(Checkpoint::default());
    }
    let found = Checkpoint::run(&mut held).await.map_err(|e| {
        tracing::error!(error = ?e, "the token writer could not checkpoint");
        "database error".to_string()
    })?;
    *conn = Some(held);
    Ok(found)
}

/// The writer's own connection, or a pooled one when it has none (at the
/// start, and after a failure gave it back).
async fn take_or_acquire(pool: &AnyPool, conn: &mut Option<PoolConnection<Any>>) -> sqlx::Result<PoolConnection<Any>> {
    match conn.take() {
        Some(held) => Ok(held),
        None => pool.acquire().await,
    }
}

async fn write_batch(
    db: &crate::backend::Db,
    conn: &mut AnyConnection,
    tokens: &[NewToken],
    events: Vec<(i64, Event)>,
) -> Result<()> {
    let mut tx = conn.begin().await?;
    super::repo::insert_issued(&mut tx, tokens).await?;
    audit::record_many(db, &mut tx, events).await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(log_frames: i64) -> Checkpoint {
        Checkpoint { log_frames, copied_frames: log_frames }
    }

    #[test]
    fn a_short_log_waits_for_the_next_tick() {
        let p = LogPolicy::DEFAULT;
        assert_eq!(p.next(found(999), Duration::from_millis(50), 1), Step::Rest);
        assert_eq!(p.next(found(0), Duration::ZERO, 9), Step::Rest);
    }

    #[test]
    fn a_long_log_is_copied_again_until_a_pass_is_quick_then_the_writer_finishes() {
        let p = LogPolicy::DEFAULT;
        assert_eq!(p.next(found(1000), Duration::from_millis(4), 1), Step::Again);
        assert_eq!(p.next(found(5000), Duration::from_millis(20), 2), Step::Again);
        assert_eq!(p.next(found(1000), Duration::from_millis(3), 2), Step::WriterFinishes);
    }

    #[test]
    fn after_the_last_slow_round_the_writer_finishes_anyway() {
        let p = LogPolicy::DEFAULT;
        assert_eq!(p.next(found(5000), Duration::from_millis(20), p.max_rounds - 1), Step::Again);
        assert_eq!(p.next(found(5000), Duration::from_millis(20), p.max_rounds), Step::WriterFinishes);
    }
}
