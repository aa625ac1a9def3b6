//! A per-client fixed-window rate limiter, in memory.

use std::collections::HashMap;
use std::sync::Mutex;

pub struct RateLimiter {
    per_window: u32,
    window_secs: i64,
    windows: Mutex<HashMap<String, (i64, u32)>>,
}

impl RateLimiter {
    /// `per_minute == 0` turns the limit off.
    pub fn new(per_minute: u32) -> RateLimiter {
        RateLimiter::per_window(per_minute, 60)
    }

    /// At most `limit` requests per key in each window of `window_secs`; 0 turns it off.
    pub fn per_window(limit: u32, window_secs: i64) -> RateLimiter {
        RateLimiter {
            per_window: limit,
            window_secs: window_secs.max(1),
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one request from `key` at `now` (seconds); `Err(seconds)` says how long until the
    /// client may try again.
    pub fn check(&self, key: &str, now: i64) -> Result<(), i64> {
        if self.per_window == 0 {
            return Ok(());
        }
        let window = now.div_euclid(self.window_secs);
        let Ok(mut map) = self.windows.lock() else {
            return Ok(());
        };
        if map.len() > 50_000 {
            map.retain(|_, (w, _)| *w == window);
        }
        let entry = map.entry(key.to_string()).or_insert((window, 0));
        if entry.0 != window {
            *entry = (window, 0);
        }
        if entry.1 >= self.per_window {
            return Err(self.window_secs - now.rem_euclid(self.window_secs));
        }
        entry.1 += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_key_per_minute() {
        let l = RateLimiter::new(2);
        assert!(l.check("a", 120).is_ok());
        assert!(l.check("a", 130).is_ok());
        assert_eq!(l.check("a", 150), Err(30));
        assert!(l.check("b", 150).is_ok());
        assert!(l.check("a", 180).is_ok(), "a new minute");
        let hourly = RateLimiter::per_window(1, 3600);
        assert!(hourly.check("a", 3600).is_ok());
        assert_eq!(hourly.check("a", 3700), Err(3500));
        assert!(hourly.check("a", 7200).is_ok());
        let off = RateLimiter::new(0);
        for _ in 0..1000 {
            assert!(off.check("a", 0).is_ok());
        }
    }
}
