//! Time as a parameter: production reads the system clock, tests move a manual one.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// Seconds since the Unix epoch, UTC.
pub type UnixTime = i64;

pub trait Clock: Send + Sync {
    fn now(&self) -> UnixTime;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UnixTime {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    }
}

/// A clock that stands still until told to move; for tests.
#[derive(Clone)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    pub fn new(start: UnixTime) -> Self {
        ManualClock(Arc::new(AtomicI64::new(start)))
    }
    pub fn advance(&self, seconds: i64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }
    pub fn set(&self, t: UnixTime) {
        self.0.store(t, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> UnixTime {
        self.0.load(Ordering::SeqCst)
    }
}

/// `2026-11-25 14:03 UTC`, for pages and emails.
pub fn format_utc(t: UnixTime) -> String {
    match jiff::Timestamp::from_second(t) {
        Ok(ts) => ts.strftime("%Y-%m-%d %H:%M UTC").to_string(),
        Err(_) => format!("@{t}"),
    }
}

/// `2026-11-25`.
pub fn format_date(t: UnixTime) -> String {
    match jiff::Timestamp::from_second(t) {
        Ok(ts) => ts.strftime("%Y-%m-%d").to_string(),
        Err(_) => format!("@{t}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc() {
        assert_eq!(format_utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(format_date(1_795_651_200), "2026-11-26");
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::new(100);
        assert_eq!(c.now(), 100);
        c.advance(50);
        assert_eq!(c.now(), 150);
    }
}

/// The same time `months` calendar months later (the end of a shorter month when the day does
/// not exist), in UTC.
pub fn add_months(t: UnixTime, months: i32) -> UnixTime {
    jiff::Timestamp::from_second(t)
        .ok()
        .and_then(|ts| {
            ts.to_zoned_datetime(jiff::tz::TimeZone::UTC)
                .checked_add(jiff::Span::new().months(months))
                .ok()
        })
        .map_or(t + i64::from(months) * 30 * 86_400, |z| {
            z.timestamp().as_second()
        })
}

/// The calendar year of a time, in UTC.
pub fn year_of(t: UnixTime) -> i32 {
    jiff::Timestamp::from_second(t).map_or(1970, |ts| {
        i32::from(ts.to_zoned_datetime(jiff::tz::TimeZone::UTC).year())
    })
}

#[cfg(test)]
mod calendar_tests {
    use super::*;

    #[test]
    fn months_and_years() {
        // 2026-01-31 12:00 UTC + 1 month = 2026-02-28 12:00 UTC.
        let jan31 = 1_769_860_800;
        assert_eq!(format_date(add_months(jan31, 1)), "2026-02-28");
        assert_eq!(year_of(jan31), 2026);
    }
}
