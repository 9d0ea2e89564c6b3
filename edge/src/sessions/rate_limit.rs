//! Token-bucket rate limits per key (a user id or a client address).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::Instant;

/// Most keys tracked before idle (full) buckets are dropped.
const MAX_KEYS: usize = 100_000;
/// Seconds of rate a bucket holds: the burst allowed after idling.
const BURST_SECONDS: f64 = 2.0;

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Allows `per_second` requests per key on average, bursts of two seconds' worth.
pub struct RateLimiter<K> {
    per_second: f64,
    buckets: Mutex<HashMap<K, Bucket>>,
}

impl<K: Eq + Hash + Copy> RateLimiter<K> {
    /// A limiter; `per_second == 0` disables it.
    pub fn new(per_second: u32) -> Self {
        Self {
            per_second: per_second as f64,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// `Ok` if `key` may make a request now, else the whole seconds to wait.
    pub fn check(&self, key: K) -> Result<(), u64> {
        self.check_at(key, Instant::now())
    }

    fn check_at(&self, key: K, now: Instant) -> Result<(), u64> {
        if self.per_second == 0.0 {
            return Ok(());
        }
        let capacity = self.per_second * BURST_SECONDS;
        let mut buckets = self.buckets.lock().expect("rate limiter lock");
        if buckets.len() >= MAX_KEYS {
            let rate = self.per_second;
            buckets.retain(|_, b| {
                b.tokens + now.duration_since(b.updated).as_secs_f64() * rate < capacity
            });
        }
        let bucket = buckets.entry(key).or_insert(Bucket {
            tokens: capacity,
            updated: now,
        });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.per_second).min(capacity);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Ok(());
        }
        let wait = (1.0 - bucket.tokens) / self.per_second;
        Err(wait.ceil().max(1.0) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn bursts_then_limits_then_refills() {
        let limiter = RateLimiter::new(5);
        let start = Instant::now();
        for _ in 0..10 {
            assert!(limiter.check_at(1u64, start).is_ok());
        }
        assert_eq!(limiter.check_at(1u64, start), Err(1));
        assert!(
            limiter.check_at(2u64, start).is_ok(),
            "keys are independent"
        );
        let later = start + Duration::from_millis(400);
        assert!(limiter.check_at(1u64, later).is_ok());
        assert!(limiter.check_at(1u64, later).is_ok());
        assert!(limiter.check_at(1u64, later).is_err());
    }

    #[test]
    fn zero_disables() {
        let limiter = RateLimiter::new(0);
        for _ in 0..10_000 {
            assert!(limiter.check(7u64).is_ok());
        }
    }
}
