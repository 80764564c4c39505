//! Group commit for issued tokens. Each token request hands its token row
//! and its audit event to one writer task and waits; the writer takes
//! everything queued (up to [`MAX_BATCH`]), writes it in one transaction
//! (one statement for the tokens, one for their audit events),
//! commits, and only then releases the waiting requests. So every token a
//! client receives is already durable, while the database sees one commit
//! per batch instead of one per token.

use crate::backend::audit::{self, Event};
use crate::backend::db::values_list;
use crate::backend::{Error, Result};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Connection};
use tokio::sync::{mpsc, oneshot};

/// Tokens per transaction at most.
pub const MAX_BATCH: usize = 256;
/// Requests waiting for the writer at most; beyond it they wait to queue.
const QUEUE: usize = 4096;

/// A token row to insert: the token's stored key (its issue order and keyed
/// digest), never the token itself.
#[derive(Debug)]
pub struct NewToken {
    pub key: String,
    pub credential_id: String,
    pub roles: String,
    pub issued_at: i64,
    pub expires_at: i64,
    pub secret_version: i64,
}

struct Job {
    token: NewToken,
    event: Event,
    done: oneshot::Sender<std::result::Result<(), String>>,
}

/// The handle requests use; cheap to clone.
#[derive(Clone, Debug)]
pub struct TokenWriter {
    queue: mpsc::Sender<Job>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job").field("credential_id", &self.token.credential_id).finish()
    }
}

impl TokenWriter {
    /// Starts the writer task on the current runtime.
    pub fn start(pool: AnyPool) -> Self {
        let (queue, jobs) = mpsc::channel(QUEUE);
        tokio::spawn(run(pool, jobs));
        TokenWriter { queue }
    }

    /// Stores the token and its audit event; returns once they are committed.
    pub async fn write(&self, token: NewToken, event: Event) -> Result<()> {
        let (done, committed) = oneshot::channel();
        self.queue
            .send(Job { token, event, done })
            .await
            .map_err(|_| anyhow::anyhow!("the token writer has stopped"))?;
        committed
            .await
            .map_err(|_| anyhow::anyhow!("the token writer dropped a request"))?
            .map_err(|e| anyhow::anyhow!("storing issued tokens failed: {e}").into())
    }
}

async fn run(pool: AnyPool, mut jobs: mpsc::Receiver<Job>) {
    // The writer keeps one connection for itself. On SQLite that keeps its
    // page cache warm: a pooled connection used by turns finds its cache
    // stale after the other connections' commits and rereads the pages it
    // appends to (docs/benchmarks.md, sixth measurement). After a failure it
    // goes back to the pool, and the next batch acquires one again.
    let mut conn: Option<PoolConnection<Any>> = None;
    while let Some(first) = jobs.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
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
            let mut held = match conn.take() {
                Some(held) => held,
                None => pool.acquire().await?,
            };
            write_batch(&mut held, &tokens, events).await?;
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
    }
}

async fn write_batch(conn: &mut AnyConnection, tokens: &[NewToken], events: Vec<(i64, Event)>) -> Result<()> {
    let mut tx = conn.begin().await?;
    let sql = format!(
        "insert into tokens (token_digest, credential_id, roles, issued_at, expires_at, last_used_at, secret_version) \
         values {}",
        values_list(&tx, tokens.len(), 7)
    );
    let mut q = sqlx::query(&sql);
    for t in tokens {
        q = q
            .bind(t.key.as_str())
            .bind(t.credential_id.as_str())
            .bind(t.roles.as_str())
            .bind(t.issued_at)
            .bind(t.expires_at)
            .bind(t.issued_at)
            .bind(t.secret_version);
    }
    q.execute(&mut *tx).await?;
    audit::record_many(&mut tx, events).await?;
    tx.commit().await?;
    Ok(())
}
