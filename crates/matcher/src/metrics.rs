//! Counters for Prometheus, kept where the serving path already is: per route and per
//! service, in atomics. Counting a request costs a few relaxed increments, no lock and no
//! allocation; `/metrics` reads them from the current table, so a deleted service's
//! series disappear with it. They survive rebuilds of the table (the publisher hands a
//! route's and a service's counters on to their next compiled form).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds: 100 µs to 10 s.
pub const LATENCY_BUCKETS: [f64; 16] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

/// A latency histogram in atomics: one bucket incremented per observation (cumulated when
/// read), the count, and the sum in microseconds.
#[derive(Debug, Default)]
pub struct Histogram {
    /// Per bucket, then one for above the last bound.
    buckets: [AtomicU64; LATENCY_BUCKETS.len() + 1],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

/// A histogram as read: sum in seconds, count, and cumulative `(upper bound, count)`.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramSnapshot {
    pub sum: f64,
    pub count: u64,
    pub buckets: Vec<(f64, u64)>,
}

impl Histogram {
    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        let i = LATENCY_BUCKETS
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(LATENCY_BUCKETS.len());
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(
            u64::try_from(d.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    pub fn snapshot(&self) -> HistogramSnapshot {
        let mut cumulative = 0;
        let mut buckets = Vec::with_capacity(LATENCY_BUCKETS.len() + 1);
        for (i, bound) in LATENCY_BUCKETS
            .iter()
            .copied()
            .chain([f64::INFINITY])
            .enumerate()
        {
            cumulative += self.buckets[i].load(Ordering::Relaxed);
            buckets.push((bound, cumulative));
        }
        HistogramSnapshot {
            sum: self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6,
            // The count is the buckets' total, so the two never disagree in one scrape.
            count: cumulative,
            buckets,
        }
    }
}

/// Status classes counted: 1xx to 5xx (anything else counts as 5xx).
pub const STATUS_CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// Responses by status class.
#[derive(Debug, Default)]
pub struct StatusCounts([AtomicU64; 5]);

impl StatusCounts {
    pub fn count(&self, status: u16) {
        let i = match status / 100 {
            1..=5 => usize::from(status / 100) - 1,
            _ => 4,
        };
        self.0[i].fetch_add(1, Ordering::Relaxed);
    }

    /// `(class, count)` for each class counted at least once.
    pub fn read(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        STATUS_CLASSES
            .iter()
            .zip(&self.0)
            .map(|(c, n)| (*c, n.load(Ordering::Relaxed)))
            .filter(|(_, n)| *n > 0)
    }
}

/// A route's series: its answers by status class.
#[derive(Debug, Default)]
pub struct RouteMetrics {
    pub responses: StatusCounts,
}

/// A service's series.
#[derive(Debug, Default)]
pub struct ServiceMetrics {
    /// Answers given without a route (no route matched, the upstream's answers, standin's
    /// own errors), by status class.
    pub unrouted: StatusCounts,
    /// Requests no route matched.
    pub unmatched: AtomicU64,
    /// Requests to the service's upstream that failed, timed out, or found the breaker
    /// open.
    pub upstream_errors: AtomicU64,
    /// From the first byte of the request to the answer, less the configured delay.
    pub serve_time: Histogram,
    /// From the first byte of the request to the answer, the delay included.
    pub total_time: Histogram,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative_and_bounds_inclusive() {
        let h = Histogram::default();
        h.observe(Duration::from_micros(100)); // on the first bound
        h.observe(Duration::from_millis(3)); // in (2.5 ms, 5 ms]
        h.observe(Duration::from_secs(60)); // above every bound
        let s = h.snapshot();
        assert_eq!(s.count, 3);
        assert_eq!(s.buckets[0], (0.0001, 1));
        let at = |b: f64| s.buckets.iter().find(|(x, _)| *x == b).unwrap().1;
        assert_eq!(at(0.0025), 1);
        assert_eq!(at(0.005), 2);
        assert_eq!(at(10.0), 2);
        assert_eq!(s.buckets.last().unwrap(), &(f64::INFINITY, 3));
        assert!((s.sum - 60.0031).abs() < 1e-9, "{}", s.sum);
    }

    #[test]
    fn status_classes() {
        let c = StatusCounts::default();
        for s in [200, 201, 404, 503, 99, 700] {
            c.count(s);
        }
        let got: Vec<_> = c.read().collect();
        assert_eq!(got, vec![("2xx", 2), ("4xx", 1), ("5xx", 3)]);
    }
}
