//! Throttles: at most `limit` attempts per key in a fixed window (ASVS
//! V6.1.1, RFC 6749 §2.3.1). Nothing is locked out for longer than one
//! window.
//!
//! One mechanism serves every throttle, and is meant for later per-credential
//! rate caps too: **reserve a slot atomically before the check, give it back
//! when the attempt should not count**. A failed attempt keeps its slot, so
//! N concurrent wrong attempts get at most `limit` checks; the rest are
//! refused before any work is done. An attempt with several keys reserves
//! them in order and gives back the ones it holds when a later key refuses,
//! so hammering one key consumes nothing of the others (an attacker failing
//! on purpose for one account from one address cannot lock that account out
//! from elsewhere). A rate cap would keep every slot instead of giving them
//! back on success.
//!
//! Two stores implement it:
//! - [`reserve`] / [`Reservation`]: the database, exact across every
//!   instance (sign-in, where argon2 costs far more than the round trip).
//!   One upsert per key, `on conflict … do update … where <below limit or
//!   window over> returning …`, atomic on SQLite (≥ 3.35) and PostgreSQL.
//! - [`FrontedThrottle`]: an in-memory front for the token endpoints, whose
//!   successful requests must not cost a database round trip and may come
//!   many at once. There a slot is taken only by a failure, after the cheap
//!   digest check, and an attempt over the limit has its result withheld
//!   (see its docs); failures are written to the same database table,
//!   and each write's `returning` teaches the instance the cluster's count;
//!   [`FrontedThrottle::poll`] learns the keys that other instances filled.
//!   The bound this leaves is stated in docs/security.md.

pub mod repo;

use crate::backend::Result;
use hashlink::LruCache;
use sqlx::AnyPool;
use std::hash::{BuildHasher, RandomState};
use std::net::IpAddr;
use std::sync::Mutex;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Attempts that count (failures, for the authentication throttles)
    /// allowed per window.
    pub limit: i64,
    pub window_secs: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Key {
    pub key: String,
    pub policy: Policy,
}

impl Key {
    pub fn new(key: impl Into<String>, policy: Policy) -> Self {
        Key { key: key.into(), policy }
    }
}

/// The address as a throttle counts it: an IPv4 address by itself, an IPv6
/// address by its /64, the smallest prefix a site is given (RFC 6177 §3),
/// so one network cannot multiply its budget by changing interface ids.
/// IPv4-mapped IPv6 addresses count as their IPv4 address.
pub fn address_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// A key over its limit: when it frees up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub retry_after_secs: u64,
}

fn wait_until(window_start: i64, window_secs: i64, now: i64) -> u64 {
    (window_start + window_secs - now).max(1) as u64
}

// --- the database store -------------------------------------------------------

/// Slots held in the database for one attempt. Dropping it keeps them
/// (the attempt counts); [`release`] gives them back.
#[must_use = "a reservation is either kept (a failure) or released"]
#[derive(Debug, Default)]
pub struct Reservation {
    /// (key, window start of the slot)
    slots: Vec<(String, i64)>,
}

impl Reservation {
    /// The attempt counts: its slots stay taken until their windows end.
    pub fn keep(self) {}
}

/// Takes one slot (counts one attempt) on `key` unless it is full; a window
/// that has ended starts again at one. `None`: the key is full.
async fn take_slot(pool: &AnyPool, k: &Key, now: i64, only_below_limit: bool) -> Result<Option<Window>> {
    let limit = only_below_limit.then_some(k.policy.limit);
    let taken = repo::take_slot(pool, &k.key, now, now - k.policy.window_secs, limit).await?;
    Ok(taken.map(|w| Window { start: w.window_start, counted: w.failures }))
}

/// Reserves one slot on every key, in order, atomically per key. When a key
/// is full, the slots already taken are given back and the caller learns how
/// long the full key stays full.
pub async fn reserve(pool: &AnyPool, keys: &[Key], now: i64) -> Result<std::result::Result<Reservation, Refusal>> {
    let mut held = Reservation::default();
    for k in keys {
        match take_slot(pool, k, now, true).await? {
            Some(w) => held.slots.push((k.key.clone(), w.start)),
            None => {
                release(pool, held).await?;
                let start = repo::window_start(pool, &k.key).await?;
                let retry_after_secs = start.map_or(1, |s| wait_until(s, k.policy.window_secs, now));
                return Ok(Err(Refusal { retry_after_secs }));
            }
        }
    }
    Ok(Ok(held))
}

/// Gives the slots back (the attempt does not count). A slot whose window
/// has since been restarted is not taken from the new window.
pub async fn release(pool: &AnyPool, reservation: Reservation) -> Result<()> {
    for (key, start) in reservation.slots {
        repo::give_back(pool, &key, start).await?;
    }
    Ok(())
}

pub async fn clear(pool: &AnyPool, key: &str) -> Result<()> {
    repo::delete(pool, key).await
}

/// Forgets windows that ended long ago.
pub async fn purge_older_than(pool: &AnyPool, cutoff: i64) -> Result<u64> {
    repo::purge_older_than(pool, cutoff).await
}

// --- the in-memory front ------------------------------------------------------

/// One key's window as this instance knows it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Window {
    start: i64,
    /// Failures known to count in this window: this instance's and those
    /// learned from the database.
    counted: i64,
}

/// Keys remembered per instance; the least recently used one is forgotten
/// first. A forgotten key is learned again from the database at its next
/// failure (see docs/security.md for what that costs).
pub const FRONT_CAPACITY: usize = 100_000;
const SHARDS: usize = 16;

/// The in-memory front of a throttle whose counts live in the database
/// table `throttle` (module docs), for client authentication, where the
/// check is a keyed digest (cheap) and a healthy client may send many
/// requests at once. So, unlike sign-in, no slot is held while a request
/// is checked (a burst of right secrets is never refused): a *failed*
/// attempt takes its slot atomically afterwards, and one that finds a key
/// full is answered as throttled, its result withheld. N concurrent wrong
/// attempts thus get at most the limit answered as wrong; the rest get
/// 429, and learn nothing. A right secret is refused only while a key is
/// full of failures.
///
/// Bounded: [`FRONT_CAPACITY`] keys in [`SHARDS`] least-recently-used
/// maps, each behind its own mutex; no operation scans a map.
pub struct FrontedThrottle {
    shards: Vec<Mutex<LruCache<String, Window>>>,
    hasher: RandomState,
}

impl Default for FrontedThrottle {
    fn default() -> Self {
        Self::with_capacity(FRONT_CAPACITY)
    }
}

impl std::fmt::Debug for FrontedThrottle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrontedThrottle").field("keys", &self.len()).finish()
    }
}

impl FrontedThrottle {
    pub fn with_capacity(capacity: usize) -> Self {
        let per_shard = capacity.div_ceil(SHARDS).max(1);
        FrontedThrottle {
            shards: (0..SHARDS).map(|_| Mutex::new(LruCache::new(per_shard))).collect(),
            hasher: RandomState::new(),
        }
    }

    fn shard(&self, key: &str) -> std::sync::MutexGuard<'_, LruCache<String, Window>> {
        let i = (self.hasher.hash_one(key) as usize) % self.shards.len();
        self.shards[i].lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Keys remembered (for tests and the bound).
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.lock().unwrap_or_else(|e| e.into_inner()).len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The refusal of the first key full of failures, if any. Touches no
    /// map entry it does not find: a healthy client adds nothing here.
    pub fn blocked(&self, keys: &[Key], now: i64) -> Option<Refusal> {
        keys.iter().find_map(|k| {
            let map = self.shard(&k.key);
            let w = map.peek(k.key.as_str())?;
            (now - w.start < k.policy.window_secs && w.counted >= k.policy.limit)
                .then(|| Refusal { retry_after_secs: wait_until(w.start, k.policy.window_secs, now) })
        })
    }

    /// Takes one slot on every key, in order, each atomically under its
    /// shard's lock. When a key is full, the slots taken are given back
    /// and its refusal returned.
    fn take(&self, keys: &[Key], now: i64) -> std::result::Result<(), Refusal> {
        for (i, k) in keys.iter().enumerate() {
            let refused = {
                let mut map = self.shard(&k.key);
                match map.get_mut(k.key.as_str()) {
                    Some(w) => {
                        if now - w.start >= k.policy.window_secs {
                            *w = Window { start: now, counted: 0 };
                        }
                        if w.counted >= k.policy.limit {
                            Some(Refusal { retry_after_secs: wait_until(w.start, k.policy.window_secs, now) })
                        } else {
                            w.counted += 1;
                            None
                        }
                    }
                    None if k.policy.limit <= 0 => Some(Refusal { retry_after_secs: k.policy.window_secs as u64 }),
                    None => {
                        map.insert(k.key.clone(), Window { start: now, counted: 1 });
                        None
                    }
                }
            };
            if let Some(refusal) = refused {
                for taken in &keys[..i] {
                    if let Some(w) = self.shard(&taken.key).peek_mut(taken.key.as_str()) {
                        w.counted = (w.counted - 1).max(0);
                    }
                }
                return Err(refusal);
            }
        }
        Ok(())
    }

    /// A failed attempt. Its slots count here at once and in the database,
    /// whose answer (the count of every instance) is learned. `Some`: a key
    /// was full already, so the attempt took nothing and must be answered
    /// as throttled.
    pub async fn fail(&self, pool: &AnyPool, keys: &[Key], now: i64) -> Result<Option<Refusal>> {
        if let Err(refusal) = self.take(keys, now) {
            return Ok(Some(refusal));
        }
        for k in keys {
            if let Some(w) = take_slot(pool, k, now, false).await? {
                self.learn(&k.key, w.start, w.counted);
            }
        }
        Ok(None)
    }

    /// Takes in a count read from the database: the later window wins, and
    /// within one window the larger count.
    fn learn(&self, key: &str, start: i64, counted: i64) {
        let mut map = self.shard(key);
        match map.get_mut(key) {
            Some(w) if start > w.start => *w = Window { start, counted },
            Some(w) if start == w.start => w.counted = w.counted.max(counted),
            Some(_) => {}
            None => {
                map.insert(key.to_string(), Window { start, counted });
            }
        }
    }

    /// Learns the keys under `prefix` that the database counts as full (at
    /// least `min_limit` attempts in a window of `window_secs` still open),
    /// so that a block reached through other instances holds here too. At
    /// most `FRONT_CAPACITY` rows, fullest first.
    pub async fn poll(&self, pool: &AnyPool, prefix: &str, min_limit: i64, window_secs: i64, now: i64) -> Result<()> {
        let rows = repo::full_keys(pool, prefix, now - window_secs, min_limit, FRONT_CAPACITY as i64).await?;
        for r in rows {
            self.learn(&r.key, r.window.window_start, r.window.failures);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: Policy = Policy { limit: 3, window_secs: 60 };

    #[test]
    fn failures_take_slots_up_to_the_limit_and_successes_none() {
        let t = FrontedThrottle::default();
        let keys = [Key::new("k", P)];
        for _ in 0..3 {
            assert_eq!(t.blocked(&keys, 100), None);
            t.take(&keys, 100).expect("below the limit");
        }
        assert_eq!(t.take(&keys, 100).unwrap_err(), Refusal { retry_after_secs: 60 }, "the fourth is withheld");
        assert_eq!(t.blocked(&keys, 110), Some(Refusal { retry_after_secs: 50 }), "a right secret waits too");
        assert_eq!(t.blocked(&keys, 160), None, "the window ended");
        assert!(t.blocked(&[Key::new("never failed", P)], 100).is_none());
        assert_eq!(t.len(), 1, "checking a healthy key remembers nothing");
    }

    #[test]
    fn a_full_key_gives_back_the_slots_already_taken_on_the_others() {
        let t = FrontedThrottle::default();
        let pair = Key::new("pair", Policy { limit: 1, window_secs: 60 });
        let address = Key::new("address", Policy { limit: 2, window_secs: 60 });
        t.take(&[address.clone(), pair.clone()], 0).unwrap();
        for _ in 0..10 {
            assert!(t.take(&[address.clone(), pair.clone()], 0).is_err(), "the pair is full");
        }
        let other = Key::new("other pair", Policy { limit: 1, window_secs: 60 });
        assert!(t.take(&[address.clone(), other], 0).is_ok(), "refusals on the pair took nothing from the address");
    }

    #[test]
    fn counts_learned_from_the_database_block_and_windows_end() {
        let t = FrontedThrottle::default();
        let keys = [Key::new("k", P)];
        t.learn("k", 100, 3);
        assert_eq!(t.blocked(&keys, 130), Some(Refusal { retry_after_secs: 30 }));
        t.learn("k", 90, 1);
        assert!(t.blocked(&keys, 130).is_some(), "an older window does not lower the count");
        assert!(t.blocked(&keys, 160).is_none(), "a new window starts empty");
    }

    #[test]
    fn the_front_stays_bounded() {
        let t = FrontedThrottle::with_capacity(160);
        for n in 0..10_000 {
            t.take(&[Key::new(format!("k{n}"), P)], 0).unwrap();
        }
        assert!(t.len() <= 160, "{}", t.len());
        assert!(t.len() >= 16, "{}", t.len());
    }

    #[test]
    fn ipv6_addresses_count_per_64_and_ipv4_per_address() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff:eeee:dddd:cccc".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_eq!(address_key(a), "2001:db8:1:2::/64");
        assert_ne!(address_key(a), address_key(c));
        assert_eq!(address_key("192.0.2.7".parse().unwrap()), "192.0.2.7");
        assert_ne!(address_key("192.0.2.7".parse().unwrap()), address_key("192.0.2.8".parse().unwrap()));
        assert_eq!(address_key("::ffff:192.0.2.7".parse().unwrap()), "192.0.2.7");
    }
}
