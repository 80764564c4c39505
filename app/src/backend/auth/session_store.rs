//! The web-session store: tower-sessions records in the application's own
//! database (SQLite or PostgreSQL through the same pool).
//!
//! We keep our own store rather than `tower-sessions-sqlx-store` for one
//! reason: the row carries the signed-in user's id, so every session of a
//! user can be ended with one statement when the user is deactivated
//! (ASVS V7.4.2), and both backends share one pool and one set of migrations.
//!
//! `sessions.id` holds an HMAC-SHA-256 of the session id under a key derived
//! from the server key (`backend/keys.rs`), never the id: the cookie is the
//! only place the id exists, so a backup or a read of the database signs
//! nobody in. Every load, save and delete digests the id first.

use crate::backend::keys::MacKey;
use crate::backend::Db;
use async_trait::async_trait;
use sqlx::AnyPool;
use std::collections::HashMap;
use time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

use super::SESSION_AUTH_KEY;

#[derive(Clone, Debug)]
pub struct DbSessionStore {
    pool: AnyPool,
    key: MacKey,
}

impl DbSessionStore {
    /// The store on `db`, whose keys ([`Db::with_keys`]) the server sets at
    /// start-up; a handle without them is a programming error.
    pub fn new(db: &Db) -> Self {
        let key = db.keys().expect("the session store needs the derived keys").session_ids.clone();
        DbSessionStore { pool: db.pool.clone(), key }
    }

    /// What `sessions.id` holds for the session `id`.
    fn stored_id(&self, id: &Id) -> String {
        self.key.digest(id.to_string().as_bytes())
    }

    /// Deletes every session of `user_id`.
    pub async fn delete_for_user(&self, user_id: &str) -> sqlx::Result<u64> {
        let res = sqlx::query("delete from sessions where user_id = $1").bind(user_id).execute(&self.pool).await?;
        Ok(res.rows_affected())
    }

    pub async fn delete_expired(&self) -> sqlx::Result<u64> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let res = sqlx::query("delete from sessions where expiry_date < $1").bind(now).execute(&self.pool).await?;
        Ok(res.rows_affected())
    }
}

/// A stored session: its data (JSON) and when it expires.
#[derive(sqlx::FromRow)]
struct SessionRow {
    data: String,
    expiry_date: i64,
}

fn user_id_of(record: &Record) -> Option<String> {
    record.data.get(SESSION_AUTH_KEY).and_then(|v| v.get("user_id")).and_then(|v| v.as_str()).map(str::to_owned)
}

fn backend(e: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

#[async_trait]
impl SessionStore for DbSessionStore {
    /// Inserts a new session, drawing a new id on the (astronomically
    /// unlikely) collision instead of overwriting another session.
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        loop {
            let data = serde_json::to_string(&record.data).map_err(|e| session_store::Error::Encode(e.to_string()))?;
            let res = sqlx::query(
                "insert into sessions (id, user_id, data, expiry_date) values ($1, $2, $3, $4) \
                 on conflict (id) do nothing",
            )
            .bind(self.stored_id(&record.id))
            .bind(user_id_of(record))
            .bind(data)
            .bind(record.expiry_date.unix_timestamp())
            .execute(&self.pool)
            .await
            .map_err(backend)?;
            if res.rows_affected() == 1 {
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let user_id = user_id_of(record);
        let data = serde_json::to_string(&record.data).map_err(|e| session_store::Error::Encode(e.to_string()))?;
        sqlx::query(
            "insert into sessions (id, user_id, data, expiry_date) values ($1, $2, $3, $4) \
             on conflict (id) do update set user_id = excluded.user_id, data = excluded.data, \
             expiry_date = excluded.expiry_date",
        )
        .bind(self.stored_id(&record.id))
        .bind(user_id)
        .bind(data)
        .bind(record.expiry_date.unix_timestamp())
        .execute(&self.pool)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn load(&self, session_id: &Id) -> session_store::Result<Option<Record>> {
        let row: Option<SessionRow> =
            sqlx::query_as("select data, expiry_date from sessions where id = $1 and expiry_date > $2")
                .bind(self.stored_id(session_id))
                .bind(OffsetDateTime::now_utc().unix_timestamp())
                .fetch_optional(&self.pool)
                .await
                .map_err(backend)?;
        let Some(SessionRow { data, expiry_date: expiry }) = row else {
            return Ok(None);
        };
        let data: HashMap<String, serde_json::Value> =
            serde_json::from_str(&data).map_err(|e| session_store::Error::Decode(e.to_string()))?;
        let expiry_date =
            OffsetDateTime::from_unix_timestamp(expiry).map_err(|e| session_store::Error::Decode(e.to_string()))?;
        Ok(Some(Record { id: *session_id, data, expiry_date }))
    }

    async fn delete(&self, session_id: &Id) -> session_store::Result<()> {
        sqlx::query("delete from sessions where id = $1")
            .bind(self.stored_id(session_id))
            .execute(&self.pool)
            .await
            .map_err(backend)?;
        Ok(())
    }
}
