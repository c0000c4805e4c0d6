//! Counting what happened: outcomes by label with their timings, and latency
//! distributions. Each traffic task keeps its own tallies and hands them back when it
//! ends, so counting needs no locks and cannot slow the measured client down.

use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;

/// How often each outcome happened and how long it took to get there.
#[derive(Debug, Default, Clone)]
pub struct Outcomes {
    by_label: BTreeMap<String, Timing>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Timing {
    count: u64,
    total_us: u64,
    max_us: u64,
}

impl Outcomes {
    pub fn add(&mut self, label: impl Into<String>, took: Duration) {
        let us = micros(took);
        let t = self.by_label.entry(label.into()).or_default();
        t.count += 1;
        t.total_us += us;
        t.max_us = t.max_us.max(us);
    }

    pub fn merge(&mut self, other: Outcomes) {
        for (label, o) in other.by_label {
            let t = self.by_label.entry(label).or_default();
            t.count += o.count;
            t.total_us += o.total_us;
            t.max_us = t.max_us.max(o.max_us);
        }
    }

    pub fn total(&self) -> u64 {
        self.by_label.values().map(|t| t.count).sum()
    }

    /// Outcomes whose label is not among `expected`.
    pub fn unexpected(&self, expected: &[&str]) -> u64 {
        self.by_label
            .iter()
            .filter(|(label, _)| !expected.contains(&label.as_str()))
            .map(|(_, t)| t.count)
            .sum()
    }

    /// Outcomes whose label satisfies `pred`.
    pub fn count_matching(&self, pred: impl Fn(&str) -> bool) -> u64 {
        self.by_label
            .iter()
            .filter(|(label, _)| pred(label))
            .map(|(_, t)| t.count)
            .sum()
    }

    pub fn to_json(&self) -> Value {
        let mut map = serde_json::Map::new();
        for (label, t) in &self.by_label {
            map.insert(
                label.clone(),
                json!({
                    "count": t.count,
                    "meanMs": ms(t.total_us as f64 / t.count.max(1) as f64),
                    "maxMs": ms(t.max_us as f64),
                }),
            );
        }
        Value::Object(map)
    }

    /// One line per outcome, for the printed report.
    pub fn lines(&self) -> Vec<String> {
        self.by_label
            .iter()
            .map(|(label, t)| {
                format!(
                    "{:>9}  {label}  (mean {:.1} ms, max {:.1} ms)",
                    t.count,
                    t.total_us as f64 / t.count.max(1) as f64 / 1000.0,
                    t.max_us as f64 / 1000.0
                )
            })
            .collect()
    }
}

/// Latencies in microseconds. Every sample is kept (a 60 s run at tens of thousands of
/// requests a second is a few million `u32`s), so percentiles are exact rather than
/// estimated from buckets.
#[derive(Debug, Default, Clone)]
pub struct Latencies {
    samples_us: Vec<u32>,
    /// Samples at or over [`SLOW_US`], with when they happened (ms into the run), so
    /// that a tail can be placed in time: at the start, when uploads pile up, or spread
    /// evenly (scheduling).
    slow: Vec<(u32, u32)>,
}

/// What counts as a slow sample: the full run's p99 limit.
pub const SLOW_US: u32 = 10_000;
/// The slow samples kept with their time; more are only counted.
const SLOW_KEPT: usize = 100_000;

/// The summary the report shows.
#[derive(Debug, Clone, Copy, Default)]
pub struct Summary {
    pub count: usize,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
}

impl Latencies {
    /// Records one latency, `into_run` after the start of the run.
    pub fn record(&mut self, took: Duration, into_run: Duration) {
        let us = u32::try_from(took.as_micros()).unwrap_or(u32::MAX);
        self.samples_us.push(us);
        if us >= SLOW_US && self.slow.len() < SLOW_KEPT {
            let at = u32::try_from(into_run.as_millis()).unwrap_or(u32::MAX);
            self.slow.push((at, us));
        }
    }

    pub fn merge(&mut self, other: Latencies) {
        self.samples_us.extend(other.samples_us);
        self.slow.extend(other.slow);
    }

    /// The slow samples: how many per `step` of the run, and the slowest few with when
    /// they happened.
    pub fn slow_samples(&self, step: Duration, slowest: usize) -> Value {
        let step_ms = u32::try_from(step.as_millis()).unwrap_or(u32::MAX).max(1);
        let mut per_step: Vec<u64> = Vec::new();
        for &(at, _) in &self.slow {
            let i = (at / step_ms) as usize;
            if per_step.len() <= i {
                per_step.resize(i + 1, 0);
            }
            per_step[i] += 1;
        }
        let mut worst = self.slow.clone();
        worst.sort_unstable_by_key(|&(_, us)| std::cmp::Reverse(us));
        let worst: Vec<Value> = worst
            .iter()
            .take(slowest)
            .map(|&(at, us)| json!({ "atS": f64::from(at) / 1000.0, "ms": ms(f64::from(us)) }))
            .collect();
        json!({
            "thresholdMs": ms(f64::from(SLOW_US)),
            "count": self.slow.len(),
            "perStep": per_step,
            "stepS": step.as_secs_f64(),
            "slowest": worst,
        })
    }

    pub fn len(&self) -> usize {
        self.samples_us.len()
    }

    /// Percentiles by the nearest-rank method: the smallest sample with at least p% of
    /// the samples at or below it, so p99.9 of 1,000 samples is the 999th smallest. The
    /// rank is computed in integers (p in tenths of a percent), because in floating
    /// point 0.999 x 1000 comes out a hair above 999 and would round up to 1000.
    pub fn summary(&mut self) -> Summary {
        let s = &mut self.samples_us;
        if s.is_empty() {
            return Summary::default();
        }
        s.sort_unstable();
        let n = s.len();
        let at = |per_mille: usize| {
            let rank = (per_mille * n).div_ceil(1000);
            f64::from(s[rank.clamp(1, n) - 1]) / 1000.0
        };
        let sum: u64 = s.iter().map(|&v| u64::from(v)).sum();
        Summary {
            count: n,
            p50_ms: at(500),
            p90_ms: at(900),
            p99_ms: at(990),
            p999_ms: at(999),
            max_ms: f64::from(s[n - 1]) / 1000.0,
            mean_ms: sum as f64 / n as f64 / 1000.0,
        }
    }
}

impl Summary {
    pub fn to_json(self) -> Value {
        json!({
            "count": self.count,
            "p50Ms": ms(self.p50_ms * 1000.0),
            "p90Ms": ms(self.p90_ms * 1000.0),
            "p99Ms": ms(self.p99_ms * 1000.0),
            "p999Ms": ms(self.p999_ms * 1000.0),
            "maxMs": ms(self.max_ms * 1000.0),
            "meanMs": ms(self.mean_ms * 1000.0),
        })
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// Microseconds as milliseconds rounded to a microsecond, so the JSON stays readable.
fn ms(us: f64) -> f64 {
    (us).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let mut l = Latencies::default();
        for us in 1..=1000u64 {
            l.record(Duration::from_micros(us * 1000), Duration::from_secs(us));
        }
        let s = l.summary();
        assert_eq!(s.p50_ms, 500.0);
        assert_eq!(s.p90_ms, 900.0);
        assert_eq!(s.p99_ms, 990.0);
        assert_eq!(s.p999_ms, 999.0);
        assert_eq!(s.max_ms, 1000.0);
        let slow = l.slow_samples(Duration::from_secs(500), 2);
        assert_eq!(slow["count"], 991, "10 ms to 1000 ms");
        assert_eq!(slow["perStep"], json!([490, 500, 1]));
        assert_eq!(slow["slowest"][0], json!({ "atS": 1000.0, "ms": 1000.0 }));
    }

    #[test]
    fn outcomes_merge_and_find_the_unexpected() {
        let mut a = Outcomes::default();
        a.add("500 budget_exceeded", Duration::from_millis(3));
        let mut b = Outcomes::default();
        b.add("500 budget_exceeded", Duration::from_millis(5));
        b.add("200", Duration::from_millis(1));
        a.merge(b);
        assert_eq!(a.total(), 3);
        assert_eq!(a.count_matching(|l| l.starts_with("500")), 2);
        assert_eq!(a.unexpected(&["500 budget_exceeded"]), 1);
        assert_eq!(a.to_json()["500 budget_exceeded"]["maxMs"], 5.0);
    }
}
