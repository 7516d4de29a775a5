//! Backoff for resending what DynamoDB leaves unprocessed in a BatchWriteItem or BatchGetItem.
//!
//! The SDK retries throttled and failed *calls* itself (standard retry mode); it does not
//! resend `UnprocessedItems`, which AWS asks callers to retry "with exponential backoff".
//! This is that schedule and nothing more.

use std::time::Duration;

/// Exponential backoff with full jitter: attempt `n` (from 0) waits a random time in
/// `0..=min(cap, base × 2^n)`.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    /// First ceiling.
    pub base: Duration,
    /// Largest ceiling.
    pub cap: Duration,
    /// How many retries before giving up.
    pub max_retries: u32,
}

impl Default for Backoff {
    /// 25 ms doubling to a 2 s ceiling, 10 retries: about 8 s in the worst case, inside a
    /// Lambda's time and an HTTP client's patience.
    fn default() -> Self {
        Self {
            base: Duration::from_millis(25),
            cap: Duration::from_secs(2),
            max_retries: 10,
        }
    }
}

impl Backoff {
    /// No waiting (tests).
    pub fn immediate(max_retries: u32) -> Self {
        Self {
            base: Duration::ZERO,
            cap: Duration::ZERO,
            max_retries,
        }
    }

    /// The wait before retry `attempt` (0-based), with full jitter from a cheap
    /// time-seeded source: the jitter only spreads retries, it needs no quality.
    pub fn delay(&self, attempt: u32) -> Duration {
        let ceiling = self
            .base
            .saturating_mul(1u32 << attempt.min(20))
            .min(self.cap);
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        if nanos == 0 {
            return Duration::ZERO;
        }
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let mixed = u64::from(seed).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ u64::from(attempt);
        Duration::from_nanos(mixed % (nanos + 1))
    }
}
