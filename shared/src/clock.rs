//! Time, injectable so that tests can move it (TTLs, cooldowns, schedules).

use chrono::{DateTime, Utc};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// The product's local time: Korea (UTC+9, no daylight saving). Days, weeks and months that
/// people see (statistics, campaign dates, health days, Instagram days) are days in Seoul.
pub fn seoul() -> chrono::FixedOffset {
    chrono::FixedOffset::east_opt(9 * 3600).expect("+09:00 is a valid offset")
}

/// The day in Seoul of an instant.
pub fn seoul_day(at: DateTime<Utc>) -> chrono::NaiveDate {
    at.with_timezone(&seoul()).date_naive()
}

pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> DateTime<Utc>;
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that is the system clock plus an offset that tests can advance.
#[derive(Debug, Default)]
pub struct OffsetClock {
    offset_ms: AtomicI64,
}

impl OffsetClock {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }
    pub fn advance(&self, by: chrono::Duration) {
        self.offset_ms.fetch_add(by.num_milliseconds(), Ordering::SeqCst);
    }
}

impl Clock for OffsetClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + chrono::Duration::milliseconds(self.offset_ms.load(Ordering::SeqCst))
    }
}

pub type SharedClock = Arc<dyn Clock>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_clock_moves_forward() {
        let c = OffsetClock::new();
        let before = c.now();
        c.advance(chrono::Duration::minutes(10));
        assert!(c.now() - before >= chrono::Duration::minutes(10));
    }
}
