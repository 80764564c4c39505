//! The audit log's hash chain. Each row's hash covers its own fields and the
//! previous row's hash, so editing, deleting or reordering rows breaks the
//! chain at that point. The hash is an HMAC under a key derived from the
//! server key (`backend/keys.rs`), so whoever can write the database but
//! lacks the key cannot rewrite a row and every later one; rows written
//! before the chain was keyed keep their plain SHA-256 hash
//! (`audit_head.keyed_from`).
//!
//! Nothing here reads or writes the database: [`link`] makes the next row of
//! the chain, and [`Walk`] checks rows read in order.

use super::StoredEvent;
use crate::backend::keys::MacKey;
use sha2::{Digest, Sha256};

pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The fields of a row as hashed: the previous hash and every field, each
/// length-prefixed so no two different rows serialise alike.
fn encode(e: &StoredEvent) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + e.details.len());
    let mut field = |v: Option<&str>| match v {
        None => out.extend_from_slice(b"-"),
        Some(s) => {
            out.extend_from_slice(s.len().to_string().as_bytes());
            out.push(b':');
            out.extend_from_slice(s.as_bytes());
        }
    };
    field(Some(&e.prev_hash));
    field(Some(&e.seq.to_string()));
    field(Some(&e.at.to_string()));
    field(Some(&e.event));
    field(Some(&e.outcome));
    field(Some(&e.actor_kind));
    field(e.actor_id.as_deref());
    field(e.actor_name.as_deref());
    field(e.ip.as_deref());
    field(e.target_kind.as_deref());
    field(e.target_id.as_deref());
    field(e.target_name.as_deref());
    field(Some(&e.details));
    out
}

/// The hash of a row written before the chain was keyed (`audit_head.keyed_from`,
/// migration 0009): plain SHA-256 over [`encode`]. Anyone can compute it,
/// so it shows accidents, not an attacker who can write the database.
pub fn row_hash(e: &StoredEvent) -> String {
    crate::backend::secrets::hex(&Sha256::digest(encode(e)))
}

/// The hash of a row of the keyed chain: HMAC-SHA-256 under the derived
/// audit key (`backend/keys.rs`) over the same encoding. Without the key
/// nobody can write a row, or cut and re-head the log, that verifies.
pub fn keyed_row_hash(key: &MacKey, e: &StoredEvent) -> String {
    key.digest(&encode(e))
}

/// `row` (its sequence number and fields set) as the next row of the keyed
/// chain: linked to `prev_hash`, the hash of the row before it, and carrying
/// its own keyed hash.
pub fn link(key: &MacKey, mut row: StoredEvent, prev_hash: String) -> StoredEvent {
    row.prev_hash = prev_hash;
    row.hash = keyed_row_hash(key, &row);
    row
}

/// The head of the chain: its last event and that event's hash. Kept
/// somewhere the database's writers cannot reach, it makes a cut tail
/// detectable (`appcred audit head`, `appcred audit verify --head`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Head {
    pub seq: i64,
    pub hash: String,
    /// The first event of the keyed chain; the ones before carry the
    /// unkeyed hash of releases before it (migration 0009).
    pub keyed_from: i64,
}

impl std::fmt::Display for Head {
    /// `SEQ:HASH`, the form `appcred audit verify --head` takes.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.seq, self.hash)
    }
}

/// A head recorded earlier, to check the log against (`SEQ:HASH`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Anchor {
    pub seq: i64,
    pub hash: String,
}

impl std::str::FromStr for Anchor {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let (seq, hash) = s.trim().split_once(':').ok_or("expected SEQ:HASH, as `appcred audit head` prints")?;
        let seq = seq.parse::<i64>().map_err(|_| format!("{seq:?} is not a sequence number"))?;
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err("the hash must be 64 hex characters".into());
        }
        Ok(Anchor { seq, hash: hash.to_ascii_lowercase() })
    }
}

/// What a verification found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every row links to the one before; `count` rows checked.
    Intact { count: i64 },
    /// The first row whose hash or link does not match.
    Broken { seq: i64, reason: String },
}

/// A walk along the chain from its first row: fed the rows in sequence
/// order, it finds the first broken link. A row edited (its hash no longer
/// matches its fields), deleted or inserted (a gap, or a link to the wrong
/// previous hash). Rows before `keyed_from` are checked against the unkeyed
/// hash they were written with, the rest against the HMAC under `key`.
pub struct Walk<'k> {
    key: &'k MacKey,
    keyed_from: i64,
    expected_prev: String,
    expected_seq: i64,
}

impl<'k> Walk<'k> {
    pub fn new(key: &'k MacKey, keyed_from: i64) -> Self {
        Walk { key, keyed_from, expected_prev: GENESIS_HASH.to_string(), expected_seq: 1 }
    }

    /// The sequence number the next row must carry.
    pub fn next_seq(&self) -> i64 {
        self.expected_seq
    }

    /// Checks the next row; the verdict on the first one that breaks the chain.
    pub fn check(&mut self, row: StoredEvent) -> Result<(), Verdict> {
        if row.seq != self.expected_seq {
            return Err(Verdict::Broken { seq: self.expected_seq, reason: "row missing".into() });
        }
        if row.prev_hash != self.expected_prev {
            return Err(Verdict::Broken { seq: row.seq, reason: "does not link to the previous row".into() });
        }
        let hash = if row.seq < self.keyed_from { row_hash(&row) } else { keyed_row_hash(self.key, &row) };
        if hash != row.hash {
            return Err(Verdict::Broken { seq: row.seq, reason: "contents changed after writing".into() });
        }
        self.expected_prev = row.hash;
        self.expected_seq += 1;
        Ok(())
    }

    /// After the last row: the rows checked, once the head (its sequence
    /// number and hash as stored) is where the walk ended.
    pub fn end(&self, head_seq: i64, head_hash: &str) -> Result<i64, Verdict> {
        let count = self.expected_seq - 1;
        if head_seq != count || head_hash != self.expected_prev {
            return Err(Verdict::Broken { seq: count + 1, reason: "the last rows are missing".into() });
        }
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> StoredEvent {
        StoredEvent {
            seq: 1,
            at: 10,
            event: "x".into(),
            outcome: "success".into(),
            actor_kind: "system".into(),
            actor_id: None,
            actor_name: None,
            ip: None,
            target_kind: None,
            target_id: None,
            target_name: None,
            details: "{}".into(),
            prev_hash: GENESIS_HASH.into(),
            hash: String::new(),
        }
    }

    #[test]
    fn every_field_is_covered_by_the_hash() {
        let base = row_hash(&row());
        let mut r = row();
        r.details = "{\"a\":1}".into();
        assert_ne!(row_hash(&r), base);
        let mut r = row();
        r.actor_id = Some(String::new());
        assert_ne!(row_hash(&r), base, "empty and absent differ");
        let mut r = row();
        r.seq = 2;
        assert_ne!(row_hash(&r), base);
    }

    #[test]
    fn the_keyed_hash_covers_the_same_fields_and_needs_the_key() {
        use crate::backend::keys::DerivedKeys;
        use crate::backend::secrets::SecretKey;
        let k1 = DerivedKeys::derive(&SecretKey::from_bytes([1; 32])).audit_chain;
        let k2 = DerivedKeys::derive(&SecretKey::from_bytes([2; 32])).audit_chain;
        let base = keyed_row_hash(&k1, &row());
        assert_ne!(base, row_hash(&row()), "not the unkeyed hash");
        assert_ne!(base, keyed_row_hash(&k2, &row()), "another key, another hash");
        let mut r = row();
        r.target_name = Some("x".into());
        assert_ne!(keyed_row_hash(&k1, &r), base);
    }

    #[test]
    fn anchors_parse_from_what_head_prints() {
        let h = Head { seq: 42, hash: "ab".repeat(32), keyed_from: 1 };
        let a: Anchor = h.to_string().parse().unwrap();
        assert_eq!((a.seq, a.hash.as_str()), (42, h.hash.as_str()));
        assert!("42".parse::<Anchor>().is_err());
        assert!("x:ab".parse::<Anchor>().is_err());
        assert!(format!("1:{}", "zz".repeat(32)).parse::<Anchor>().is_err());
    }
}
