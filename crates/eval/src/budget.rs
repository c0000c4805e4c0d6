//! Work allowed for one request's evaluation.
//!
//! Everything on the serving path whose cost can grow faster than the request's size
//! (XPath, JSONPath, JSON Schema, partial JSON and XML pairing, templates, the near-miss
//! search) spends fuel from the request's [`Budget`]. A unit is roughly 25 ns of work in a
//! release build. When the fuel, the deadline or the client runs out, [`Budget::spend`]
//! answers false from then on, evaluation stops promptly, and the caller learns why from
//! [`Budget::exhausted`]. Conditions cut short this way are neither a match nor a miss:
//! the matcher reports the request as over budget.

use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// Why a budget ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exhausted {
    /// The fuel is spent.
    Fuel,
    /// The request's deadline passed.
    Deadline,
    /// The client went away.
    Cancelled,
    /// The output (of a template) reached its size limit.
    Output,
}

impl Exhausted {
    pub fn as_str(self) -> &'static str {
        match self {
            Exhausted::Fuel => "fuel",
            Exhausted::Deadline => "deadline",
            Exhausted::Cancelled => "cancelled",
            Exhausted::Output => "output",
        }
    }
}

/// Fuel spent between looks at the clock and the cancellation flag.
const CHECK_EVERY: u64 = 4096;

/// Work allowed for one evaluation. Not shared between threads: one request, one budget.
#[derive(Debug)]
pub struct Budget {
    fuel: Cell<u64>,
    initial: u64,
    exhausted: Cell<Option<Exhausted>>,
    deadline: Option<Instant>,
    cancelled: Option<Arc<AtomicBool>>,
    until_check: Cell<u64>,
}

impl Budget {
    /// A budget of `fuel` units, with no deadline.
    ///
    /// ```
    /// let b = standin_eval::Budget::new(10);
    /// assert!(b.spend(7));
    /// assert!(!b.spend(7));
    /// assert_eq!(b.exhausted(), Some(standin_eval::Exhausted::Fuel));
    /// assert!(!b.spend(1), "an exhausted budget stays exhausted");
    /// ```
    pub fn new(fuel: u64) -> Self {
        Budget {
            fuel: Cell::new(fuel),
            initial: fuel,
            exhausted: Cell::new(None),
            deadline: None,
            cancelled: None,
            until_check: Cell::new(CHECK_EVERY),
        }
    }

    /// For tools and tests that must not be cut short.
    pub fn unlimited() -> Self {
        Self::new(u64::MAX)
    }

    /// Stops the evaluation once `deadline` has passed.
    pub fn with_deadline(mut self, deadline: Instant) -> Self {
        self.deadline = Some(deadline);
        self.until_check.set(0);
        self
    }

    /// Stops the evaluation once `flag` is set (the client went away).
    pub fn with_cancel(mut self, flag: Arc<AtomicBool>) -> Self {
        self.cancelled = Some(flag);
        self.until_check.set(0);
        self
    }

    /// Takes `units` of fuel; false when the budget is gone (and from then on).
    #[inline]
    pub fn spend(&self, units: u64) -> bool {
        if self.exhausted.get().is_some() {
            return false;
        }
        let Some(left) = self.fuel.get().checked_sub(units) else {
            self.exhausted.set(Some(Exhausted::Fuel));
            return false;
        };
        self.fuel.set(left);
        match self.until_check.get().checked_sub(units) {
            Some(n) => {
                self.until_check.set(n);
                true
            }
            None => self.check(),
        }
    }

    #[cold]
    fn check(&self) -> bool {
        self.until_check.set(CHECK_EVERY);
        let why = if self.deadline.is_some_and(|d| Instant::now() >= d) {
            Some(Exhausted::Deadline)
        } else if self
            .cancelled
            .as_ref()
            .is_some_and(|c| c.load(Ordering::Relaxed))
        {
            Some(Exhausted::Cancelled)
        } else {
            None
        };
        self.exhausted.set(why);
        why.is_none()
    }

    /// Spends fuel for scanning `bytes` of text at `per` bytes a unit.
    #[inline]
    pub fn spend_bytes(&self, bytes: usize, per: usize) -> bool {
        self.spend(1 + (bytes / per.max(1)) as u64)
    }

    /// Ends the budget for a reason found by the evaluation itself (output too large).
    pub fn exhaust(&self, why: Exhausted) {
        if self.exhausted.get().is_none() {
            self.exhausted.set(Some(why));
        }
    }

    pub fn is_exhausted(&self) -> bool {
        self.exhausted.get().is_some()
    }

    pub fn exhausted(&self) -> Option<Exhausted> {
        self.exhausted.get()
    }

    /// Fuel left.
    pub fn remaining(&self) -> u64 {
        self.fuel.get()
    }

    /// Fuel spent so far.
    pub fn spent(&self) -> u64 {
        self.initial - self.fuel.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_passed_deadline_or_a_cancelled_client_ends_the_budget() {
        let b = Budget::new(u64::MAX).with_deadline(Instant::now());
        assert!(!b.spend(1));
        assert_eq!(b.exhausted(), Some(Exhausted::Deadline));
        let flag = Arc::new(AtomicBool::new(false));
        let b = Budget::new(u64::MAX).with_cancel(flag.clone());
        assert!(b.spend(1));
        flag.store(true, Ordering::Relaxed);
        let mut spent = 0;
        while b.spend(1) {
            spent += 1;
        }
        assert!(spent <= CHECK_EVERY, "noticed within one check interval");
        assert_eq!(b.exhausted(), Some(Exhausted::Cancelled));
    }
}
