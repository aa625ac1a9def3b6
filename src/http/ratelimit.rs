//! A per-client fixed-window rate limiter, in memory.

use std::collections::HashMap;
use std::sync::Mutex;

pub struct RateLimiter {
    per_minute: u32,
    windows: Mutex<HashMap<String, (i64, u32)>>,
}

impl RateLimiter {
    /// `per_minute == 0` turns the limit off.
    pub fn new(per_minute: u32) -> RateLimiter {
        RateLimiter {
            per_minute,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one request from `key` at `now` (seconds); `Err(seconds)` says how long until the
    /// client may try again.
    pub fn check(&self, key: &str, now: i64) -> Result<(), i64> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let window = now.div_euclid(60);
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
        if entry.1 >= self.per_minute {
            return Err(60 - now.rem_euclid(60));
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
        let off = RateLimiter::new(0);
        for _ in 0..1000 {
            assert!(off.check("a", 0).is_ok());
        }
    }
}
