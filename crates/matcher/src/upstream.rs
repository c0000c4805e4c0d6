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
        if let Some(r) = breaker.failure_ratio
            && !(r > 0.0 && r <= 1.0)
        {
            return Err(CompileError::new(
                "/breaker/failureRatio",
                format!("a share of calls above 0 and at most 1, not {r}"),
            ));
        }
        if breaker.window_calls == 0 {
            return Err(CompileError::new(
                "/breaker/windowCalls",
                "at least 1".to_string(),
            ));
        }
        let mut b = CircuitBreaker::new(breaker.consecutive_failures, breaker.open_ms);
        if let Some(r) = breaker.failure_ratio {
            b = b.with_ratio(r, breaker.window_calls);
        }
        Ok(Upstream {
            url: url.to_string(),
            forward,
            breaker: b,
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
    /// Open when at least this share of a window's calls failed.
    ratio: Option<(f64, u32)>,
    /// Calls (high 32 bits) and failures (low 32) in the current window.
    window: AtomicU64,
}

impl CircuitBreaker {
    pub fn new(threshold: u32, open_ms: u64) -> Self {
        CircuitBreaker {
            threshold,
            open_ms,
            state: AtomicU8::new(CLOSED),
            failures: AtomicU32::new(0),
            opened_at_ms: AtomicU64::new(0),
            ratio: None,
            window: AtomicU64::new(0),
        }
    }

    /// Also opens when `ratio` of the calls in each run of `calls` calls failed.
    pub fn with_ratio(mut self, ratio: f64, calls: u32) -> Self {
        self.ratio = Some((ratio, calls.max(1)));
        self
    }

    /// Counts a call in the window; whether the window just closed over the ratio.
    fn window_over(&self, failed: bool) -> bool {
        let Some((ratio, size)) = self.ratio else {
            return false;
        };
        let add = (1u64 << 32) | u64::from(failed);
        let before = self.window.fetch_add(add, Ordering::AcqRel);
        let (calls, failures) = (
            (before >> 32) + 1,
            (before & 0xFFFF_FFFF) + u64::from(failed),
        );
        if calls < u64::from(size) {
            return false;
        }
        // The call that fills the window judges it and starts the next one.
        self.window.store(0, Ordering::Release);
        failures as f64 / calls as f64 >= ratio
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
        self.success_at(now_ms());
    }

    pub fn success_at(&self, now_ms: u64) {
        self.failures.store(0, Ordering::Release);
        let was = self.state.swap(CLOSED, Ordering::AcqRel);
        if self.window_over(false) && was != HALF_OPEN {
            self.opened_at_ms.store(now_ms, Ordering::Release);
            self.state.store(OPEN, Ordering::Release);
        }
    }

    pub fn failure_at(&self, now_ms: u64) {
        let failures = self.failures.fetch_add(1, Ordering::AcqRel) + 1;
        let state = self.state.load(Ordering::Acquire);
        let over = self.window_over(true);
        if state == HALF_OPEN || failures >= self.threshold || over {
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
    fn a_failure_ratio_over_a_window_opens_it_without_failures_in_a_row() {
        // Every other call fails: never two in a row, but half of each window of 10.
        let b = CircuitBreaker::new(100, 1000).with_ratio(0.5, 10);
        for i in 0..9 {
            if i % 2 == 0 {
                b.failure_at(0);
            } else {
                b.success_at(0);
            }
            assert_eq!(b.state(), "closed", "call {i}");
        }
        b.success_at(0);
        assert_eq!(b.state(), "open", "5 of 10 failed");
        // Under the ratio: stays closed.
        let b = CircuitBreaker::new(100, 1000).with_ratio(0.5, 10);
        for i in 0..20 {
            if i % 4 == 0 {
                b.failure_at(0);
            } else {
                b.success_at(0);
            }
        }
        assert_eq!(b.state(), "closed");
    }

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
