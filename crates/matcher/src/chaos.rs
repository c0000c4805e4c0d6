//! Chaos: a service's failures on purpose, compiled from its `chaos` settings. Each rule
//! rolls per matched request; a rate limit counts requests per second. Rolls come from one
//! atomic generator per service (seeded for repeatable tests), counts from one atomic per
//! second: no lock on the serving path.

use crate::{CompileError, CompiledFault};
use standin_model::{Chaos, Fault};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug)]
pub struct CompiledChaos {
    rules: Vec<Rule>,
    requests_per_second: Option<u32>,
    rng: AtomicU64,
    /// The current second (high 32 bits) and the requests counted in it (low 32).
    window: AtomicU64,
}

#[derive(Debug)]
struct Rule {
    routes: Vec<Arc<str>>,
    /// The probability as a threshold on 53-bit draws.
    threshold: u64,
    status: Option<http::StatusCode>,
    fault: Option<CompiledFault>,
    delay_ms: u64,
}

/// Settings compare by identity: two compilations are two dice.
impl PartialEq for CompiledChaos {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}

/// What chaos does to one matched request.
#[derive(Debug, Default, Clone)]
pub struct ChaosEffect {
    pub status: Option<http::StatusCode>,
    pub fault: Option<CompiledFault>,
    pub extra_delay_ms: u64,
}

impl CompiledChaos {
    /// `None` when the settings are off or empty. Errors point under `/chaos`.
    pub fn compile(c: &Chaos) -> Result<Option<Self>, CompileError> {
        for (i, r) in c.rules.iter().enumerate() {
            let at = |f: &str| format!("/chaos/rules/{i}/{f}");
            if !(0.0..=1.0).contains(&r.probability) {
                return Err(CompileError::new(
                    &at("probability"),
                    format!("a probability is between 0 and 1, not {}", r.probability),
                ));
            }
            if r.status.is_some() && r.fault.is_some() {
                return Err(CompileError::new(
                    &at("fault"),
                    "a rule answers with a status or a fault, not both".to_string(),
                ));
            }
            if r.status.is_none() && r.fault.is_none() && r.delay_ms.is_none() {
                return Err(CompileError::new(
                    &at("probability"),
                    "a rule needs a status, a fault or a delayMs to apply".to_string(),
                ));
            }
            if let Some(s) = r.status
                && !(100..=599).contains(&s)
            {
                return Err(CompileError::new(
                    &at("status"),
                    format!("{s} is not an HTTP status"),
                ));
            }
            if r.delay_ms.is_some_and(|d| d > crate::MAX_DELAY_MS) {
                return Err(CompileError::new(
                    &at("delayMs"),
                    format!("at most {} ms (10 minutes)", crate::MAX_DELAY_MS),
                ));
            }
        }
        if c.requests_per_second == Some(0) {
            return Err(CompileError::new(
                "/chaos/requestsPerSecond",
                "at least 1".to_string(),
            ));
        }
        if !c.enabled || (c.rules.is_empty() && c.requests_per_second.is_none()) {
            return Ok(None);
        }
        let rules = c
            .rules
            .iter()
            .map(|r| Rule {
                routes: r.routes.iter().map(|s| Arc::from(s.as_str())).collect(),
                threshold: (r.probability * (1u64 << 53) as f64) as u64,
                status: r.status.and_then(|s| http::StatusCode::from_u16(s).ok()),
                fault: r.fault.as_ref().map(|f| match f {
                    Fault::CloseAfterResponse => CompiledFault::CloseAfterResponse,
                    Fault::DropConnection | Fault::RawBytes(_) => CompiledFault::DropConnection,
                }),
                delay_ms: r.delay_ms.unwrap_or(0),
            })
            .collect();
        let seed = c
            .seed
            .unwrap_or_else(|| (crate::next_unit() * u64::MAX as f64) as u64);
        Ok(Some(CompiledChaos {
            rules,
            requests_per_second: c.requests_per_second,
            rng: AtomicU64::new(seed),
            window: AtomicU64::new(0),
        }))
    }

    /// One draw in [0, 2^53).
    fn draw(&self) -> u64 {
        let s = self
            .rng
            .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
            .wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = s;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) >> 11
    }

    /// Rolls every rule that applies to `route`.
    pub fn roll(&self, route: &str) -> ChaosEffect {
        let mut effect = ChaosEffect::default();
        for r in &self.rules {
            if !r.routes.is_empty() && !r.routes.iter().any(|id| &**id == route) {
                continue;
            }
            if self.draw() >= r.threshold {
                continue;
            }
            effect.extra_delay_ms += r.delay_ms;
            if effect.status.is_none() && effect.fault.is_none() {
                effect.status = r.status;
                effect.fault = r.fault.clone();
            }
        }
        effect
    }

    /// Counts a request against the rate limit at `now_s` (seconds); `false` when it is
    /// over the limit.
    pub fn admit_at(&self, now_s: u64) -> bool {
        let Some(limit) = self.requests_per_second else {
            return true;
        };
        let now = now_s & 0xFFFF_FFFF;
        let counted = self
            .window
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |w| {
                let (second, n) = (w >> 32, w & 0xFFFF_FFFF);
                Some(if second == now {
                    (second << 32) | (n + 1).min(0xFFFF_FFFF)
                } else {
                    (now << 32) | 1
                })
            })
            .unwrap_or(0);
        let (second, n) = (counted >> 32, counted & 0xFFFF_FFFF);
        let before = if second == now { n } else { 0 };
        before < u64::from(limit)
    }

    /// [`CompiledChaos::admit_at`] now.
    pub fn admit(&self) -> bool {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.admit_at(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chaos(doc: serde_json::Value) -> CompiledChaos {
        CompiledChaos::compile(&serde_json::from_value(doc).unwrap())
            .unwrap()
            .unwrap()
    }

    #[test]
    fn rates_are_within_tolerance_over_10000_requests_with_a_seed() {
        let c = chaos(serde_json::json!({"seed": 42, "rules": [
            {"probability": 0.1, "status": 503},
            {"probability": 0.25, "delayMs": 100, "routes": ["slow"]}
        ]}));
        let (mut errors, mut slow) = (0, 0);
        for _ in 0..10_000 {
            let e = c.roll("slow");
            errors += usize::from(e.status.is_some());
            slow += usize::from(e.extra_delay_ms > 0);
        }
        // ±2 points: far outside three standard deviations for 10,000 draws.
        assert!((800..1200).contains(&errors), "{errors}");
        assert!((2300..2700).contains(&slow), "{slow}");
        // Another route: only the first rule applies.
        let delayed = (0..10_000)
            .filter(|_| c.roll("fast").extra_delay_ms > 0)
            .count();
        assert_eq!(delayed, 0);
        // The same seed gives the same rolls.
        let a =
            chaos(serde_json::json!({"seed": 7, "rules": [{"probability": 0.5, "status": 500}]}));
        let b =
            chaos(serde_json::json!({"seed": 7, "rules": [{"probability": 0.5, "status": 500}]}));
        let rolls = |c: &CompiledChaos| {
            (0..100)
                .map(|_| c.roll("r").status.is_some())
                .collect::<Vec<_>>()
        };
        assert_eq!(rolls(&a), rolls(&b));
    }

    #[test]
    fn the_rate_limit_counts_per_second() {
        let c = chaos(serde_json::json!({"requestsPerSecond": 3}));
        let admitted: Vec<bool> = (0..5).map(|_| c.admit_at(100)).collect();
        assert_eq!(admitted, [true, true, true, false, false]);
        assert!(c.admit_at(101), "a new second starts again");
    }

    #[test]
    fn bad_settings_are_refused_with_their_pointer_and_off_means_nothing() {
        let refuse = |doc: serde_json::Value, pointer: &str| {
            let e = CompiledChaos::compile(&serde_json::from_value(doc).unwrap()).unwrap_err();
            assert_eq!(e.pointer, pointer, "{}", e.message);
        };
        refuse(
            serde_json::json!({"rules": [{"probability": 1.5, "status": 500}]}),
            "/chaos/rules/0/probability",
        );
        refuse(
            serde_json::json!({"rules": [{"probability": 0.5}]}),
            "/chaos/rules/0/probability",
        );
        refuse(
            serde_json::json!({"rules": [{"probability": 0.5, "status": 500, "fault": "dropConnection"}]}),
            "/chaos/rules/0/fault",
        );
        refuse(
            serde_json::json!({"requestsPerSecond": 0}),
            "/chaos/requestsPerSecond",
        );
        let off: Chaos = serde_json::from_value(
            serde_json::json!({"enabled": false, "rules": [{"probability": 1, "status": 500}]}),
        )
        .unwrap();
        assert!(CompiledChaos::compile(&off).unwrap().is_none());
    }
}
