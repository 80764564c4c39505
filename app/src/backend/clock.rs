//! Time comes from an injectable clock so that expiry rules can be tested
//! without sleeping.

use chrono::{DateTime, TimeZone, Utc};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;

    /// Whole seconds since the Unix epoch: the unit every timestamp column uses.
    fn unix(&self) -> i64 {
        self.now().timestamp()
    }
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stands still until told to move. For tests.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    pub fn at(unix_secs: i64) -> Self {
        ManualClock(Arc::new(AtomicI64::new(unix_secs)))
    }

    pub fn starting_now() -> Self {
        Self::at(Utc::now().timestamp())
    }

    pub fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        Utc.timestamp_opt(self.0.load(Ordering::SeqCst), 0).single().expect("manual clock holds a valid timestamp")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_advanced() {
        let clock = ManualClock::at(1_000);
        assert_eq!(clock.unix(), 1_000);
        clock.advance(59);
        assert_eq!(clock.unix(), 1_059);
    }
}
