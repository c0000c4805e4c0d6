//! A service's upstream: where requests no route matches go, behind a circuit breaker.
//!
//! The breaker opens after `consecutiveFailures` failures in a row (an error, a timeout or
//! a 5xx answer) and stays open for `openMs`: requests then go straight to the fallback
//! routes (or get 503). After that, one request probes the upstream (half-open): a success
//! closes the breaker, a failure opens it again. Its state is three atomics.

use crate::{CompileError, CompiledForward};
use std::sync::atomic::{AtomicU8, AtomicU32, AtomicU64, Ordering};

const CLOSED: u8 = 0;
const OPEN: u8 = 1;
const HALF_OPEN: u8 = 2;

#[derive(Debug)]
pub struct Upstream {
    pub url: String,
    pub forward: CompiledForward,
    pub breaker: CircuitBreaker,
}

impl Upstream {
    pub fn compile(url: &str, breaker: &standin_model::Breaker) -> Result<Self, CompileError> {
        let forward = CompiledForward::compile(
            &standin_model::Forward {
                to: Some(url.to_string()),
                ..Default::default()
            },
            "/upstream",
        )?;
        if breaker.consecutive_failures == 0 {
            return Err(CompileError::new(
                "/breaker/consecutiveFailures",
                "at least 1".to_string(),
            ));
        }
        Ok(Upstream {
            url: url.to_string(),
            forward,
            breaker: CircuitBreaker::new(breaker.consecutive_failures, breaker.open_ms),
        })
    }
}

/// Breakers compare by identity.
impl PartialEq for Upstream {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}

#[derive(Debug)]
pub struct CircuitBreaker {
    threshold: u32,
    open_ms: u64,
    state: AtomicU8,
    failures: AtomicU32,
    opened_at_ms: AtomicU64,
}

impl CircuitBreaker {
    pub fn new(threshold: u32, open_ms: u64) -> Self {
        CircuitBreaker {
            threshold,
            open_ms,
            state: AtomicU8::new(CLOSED),
            failures: AtomicU32::new(0),
            opened_at_ms: AtomicU64::new(0),
        }
    }

    /// Whether a request may go to the upstream at `now_ms`. While open, `false`; once the
    /// open time is over, `true` for exactly one probe.
    pub fn allow_at(&self, now_ms: u64) -> bool {
        match self.state.load(Ordering::Acquire) {
            CLOSED => true,
            OPEN => {
                let since = now_ms.saturating_sub(self.opened_at_ms.load(Ordering::Acquire));
                since >= self.open_ms
                    && self
                        .state
                        .compare_exchange(OPEN, HALF_OPEN, Ordering::AcqRel, Ordering::Acquire)
                        .is_ok()
            }
            _ => false,
        }
    }

    pub fn success(&self) {
        self.failures.store(0, Ordering::Release);
        self.state.store(CLOSED, Ordering::Release);
    }

    pub fn failure_at(&self, now_ms: u64) {
        let failures = self.failures.fetch_add(1, Ordering::AcqRel) + 1;
        let state = self.state.load(Ordering::Acquire);
        if state == HALF_OPEN || failures >= self.threshold {
            self.opened_at_ms.store(now_ms, Ordering::Release);
            self.state.store(OPEN, Ordering::Release);
        }
    }

    /// `closed`, `open` or `halfOpen`.
    pub fn state(&self) -> &'static str {
        match self.state.load(Ordering::Acquire) {
            CLOSED => "closed",
            OPEN => "open",
            _ => "halfOpen",
        }
    }

    pub fn consecutive_failures(&self) -> u32 {
        self.failures.load(Ordering::Acquire)
    }

    pub fn allow(&self) -> bool {
        self.allow_at(now_ms())
    }

    pub fn failure(&self) {
        self.failure_at(now_ms())
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_breaker_opens_after_failures_in_a_row_and_closes_after_a_good_probe() {
        let b = CircuitBreaker::new(3, 1000);
        b.failure_at(0);
        b.failure_at(0);
        b.success();
        b.failure_at(0);
        b.failure_at(0);
        assert_eq!(b.state(), "closed", "a success resets the count");
        b.failure_at(10);
        assert_eq!(b.state(), "open");
        assert!(!b.allow_at(500), "open for 1000 ms");
        assert!(b.allow_at(1010), "then one probe");
        assert_eq!(b.state(), "halfOpen");
        assert!(!b.allow_at(1011), "only one");
        b.failure_at(1020);
        assert_eq!(b.state(), "open", "a failed probe opens it again");
        assert!(!b.allow_at(1500));
        assert!(b.allow_at(2020));
        b.success();
        assert_eq!(b.state(), "closed");
        assert!(b.allow_at(2021));
    }
}
