//! `GET /metrics`: every series read at scrape time from where it is counted (the route
//! table's atomics, the data plane's error counts, the journal, the change timings),
//! encoded by `prometheus-client`. Nothing is registered per service: a deleted service
//! is not in the table, so its series are gone from the next scrape.

use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;
use standin_app::App;
use standin_journal::Journal;
use standin_matcher::HistogramSnapshot;
use standin_server::ServeStats;
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// What a scrape reads.
pub struct Sources {
    pub app: App,
    pub journal: Journal,
    pub serving: Arc<ServeStats>,
    pub backup: Arc<crate::backup::BackupStatus>,
}

const NO_LABELS: [(&str, &str); 0] = [];

struct Collector(Sources);

impl std::fmt::Debug for Collector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("standin collector")
    }
}

/// The renderer `/metrics` calls.
pub fn source(sources: Sources) -> standin_admin::MetricsSource {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Collector(sources)));
    let registry = Arc::new(registry);
    Arc::new(move || {
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::prometheus_text::encode(&mut out, &registry) {
            let _ = writeln!(out, "# encoding failed: {e}");
        }
        out
    })
}

fn counter(
    m: &mut prometheus_client::encoding::MetricEncoder<'_>,
    labels: &impl EncodeLabelSet,
    v: u64,
) -> std::fmt::Result {
    m.encode_family(labels)?
        .encode_counter::<NoLabelSet, _, u64>(&v, None)
}

fn gauge(
    m: &mut prometheus_client::encoding::MetricEncoder<'_>,
    labels: &impl EncodeLabelSet,
    v: i64,
) -> std::fmt::Result {
    m.encode_family(labels)?.encode_gauge(&v)
}

fn histogram(
    m: &mut prometheus_client::encoding::MetricEncoder<'_>,
    labels: &impl EncodeLabelSet,
    h: &HistogramSnapshot,
) -> std::fmt::Result {
    // The encoder writes the +Inf bucket itself from the count.
    let finite: Vec<(f64, u64)> = h
        .buckets
        .iter()
        .copied()
        .filter(|(b, _)| b.is_finite())
        .collect();
    m.encode_family(labels)?
        .encode_histogram::<NoLabelSet>(h.sum, h.count, &finite, None)
}

impl prometheus_client::collector::Collector for Collector {
    fn encode(&self, mut enc: DescriptorEncoder) -> std::fmt::Result {
        let s = &self.0;
        let table = s.app.table().load_full();
        let services = table.services();

        let mut m = enc.encode_descriptor(
            "standin_requests",
            "Mock requests answered, by team, service, route id and status class (route \"-\": no route answered; team and service \"-\": no service).",
            None,
            MetricType::Counter,
        )?;
        for svc in services {
            let (team, slug) = (&*svc.info.team, &*svc.info.slug);
            for route in svc.routes() {
                for (class, n) in route.metrics.responses.read() {
                    let l = [
                        ("team", team),
                        ("service", slug),
                        ("route", &*route.id),
                        ("class", class),
                    ];
                    counter(&mut m, &l, n)?;
                }
            }
            for (class, n) in svc.metrics.unrouted.read() {
                let l = [
                    ("team", team),
                    ("service", slug),
                    ("route", "-"),
                    ("class", class),
                ];
                counter(&mut m, &l, n)?;
            }
        }
        for (class, n) in s.serving.unrouted.read() {
            let l = [
                ("team", "-"),
                ("service", "-"),
                ("route", "-"),
                ("class", class),
            ];
            counter(&mut m, &l, n)?;
        }

        for (name, help, pick) in [
            (
                "standin_request_duration_seconds",
                "From a mock request's first byte to its answer, configured delays included.",
                (|m: &standin_matcher::ServiceMetrics| m.total_time.snapshot())
                    as fn(&standin_matcher::ServiceMetrics) -> HistogramSnapshot,
            ),
            (
                "standin_serve_duration_seconds",
                "From a mock request's first byte to its answer, less the configured delay: standin's own time (and an upstream's).",
                |m| m.serve_time.snapshot(),
            ),
        ] {
            let mut m = enc.encode_descriptor(name, help, None, MetricType::Histogram)?;
            for svc in services {
                let l = [("team", &*svc.info.team), ("service", &*svc.info.slug)];
                histogram(&mut m, &l, &pick(&svc.metrics))?;
            }
        }

        let mut m = enc.encode_descriptor(
            "standin_unmatched_requests",
            "Requests to a service that no route matched.",
            None,
            MetricType::Counter,
        )?;
        for svc in services {
            let l = [("team", &*svc.info.team), ("service", &*svc.info.slug)];
            counter(&mut m, &l, svc.metrics.unmatched.load(Ordering::Relaxed))?;
        }

        let mut m = enc.encode_descriptor(
            "standin_upstream_errors",
            "Requests a service's upstream failed, did not answer in time, or that found its circuit breaker open.",
            None,
            MetricType::Counter,
        )?;
        for svc in services.iter().filter(|s| s.info.upstream.is_some()) {
            let l = [("team", &*svc.info.team), ("service", &*svc.info.slug)];
            counter(
                &mut m,
                &l,
                svc.metrics.upstream_errors.load(Ordering::Relaxed),
            )?;
        }

        let mut m = enc.encode_descriptor(
            "standin_circuit_breaker_open",
            "1 while a service's upstream circuit breaker is open or half-open, else 0.",
            None,
            MetricType::Gauge,
        )?;
        for svc in services {
            if let Some(u) = &svc.info.upstream {
                let l = [("team", &*svc.info.team), ("service", &*svc.info.slug)];
                gauge(&mut m, &l, i64::from(u.breaker.state() != "closed"))?;
            }
        }

        let mut m = enc.encode_descriptor(
            "standin_errors",
            "Answers standin gave instead of a route, by code and whose doing it was (client, configured, standin).",
            None,
            MetricType::Counter,
        )?;
        for (i, (code, source)) in standin_server::SERVE_ERROR_KINDS.iter().enumerate() {
            let l = [("code", *code), ("source", source.as_str())];
            counter(&mut m, &l, s.serving.by_kind[i].load(Ordering::Relaxed))?;
        }

        let mut m = enc.encode_descriptor(
            "standin_template_errors",
            "Response templates that failed to render.",
            None,
            MetricType::Counter,
        )?;
        counter(
            &mut m,
            &NO_LABELS,
            s.serving.template_failures.load(Ordering::Relaxed),
        )?;

        let journal = s.journal.stats();
        for (name, help, v) in [
            (
                "standin_journal_recorded",
                "Requests the journal recorded.",
                journal.recorded,
            ),
            (
                "standin_journal_dropped",
                "Journal entries dropped because the hand-off channel was full (mock traffic never waits for the journal).",
                journal.dropped,
            ),
            (
                "standin_journal_evicted",
                "Journal entries pushed out of a full per-service ring by newer ones.",
                journal.evicted,
            ),
            (
                "standin_connections_refused",
                "Connections refused at the connection cap.",
                s.serving.connections_refused.load(Ordering::Relaxed),
            ),
            (
                "standin_store_commit_failures",
                "Changes whose commit to the store failed.",
                s.app
                    .change_metrics()
                    .commit_failures
                    .load(Ordering::Relaxed),
            ),
            (
                "standin_backup_failures",
                "Backups that failed.",
                s.backup.failures.load(Ordering::Relaxed),
            ),
        ] {
            let mut m = enc.encode_descriptor(name, help, None, MetricType::Counter)?;
            counter(&mut m, &NO_LABELS, v)?;
        }

        let changes = s.app.change_metrics();
        for (name, help, h) in [
            (
                "standin_compile_duration_seconds",
                "Compiling the services a change touched into a new route table.",
                &changes.compile_time,
            ),
            (
                "standin_store_commit_duration_seconds",
                "Committing a change to the store (the transaction and its fsync).",
                &changes.commit_time,
            ),
            (
                "standin_publish_duration_seconds",
                "Swapping a committed change's catalog and route table in.",
                &changes.publish_time,
            ),
        ] {
            let mut m = enc.encode_descriptor(name, help, None, MetricType::Histogram)?;
            histogram(&mut m, &NO_LABELS, &h.snapshot())?;
        }

        let catalog = s.app.catalog();
        let served: usize = services.iter().map(|s| s.routes().len()).sum();
        for (name, help, v) in [
            ("standin_teams", "Teams defined.", catalog.teams.len()),
            (
                "standin_services",
                "Services defined.",
                catalog.services.len(),
            ),
            (
                "standin_routes",
                "Routes defined, enabled or not.",
                catalog.route_count(),
            ),
            (
                "standin_routes_served",
                "Routes in the published table (enabled and compiled).",
                served,
            ),
            (
                "standin_journal_retained",
                "Journal entries held in memory.",
                journal.retained as usize,
            ),
        ] {
            let mut m = enc.encode_descriptor(name, help, None, MetricType::Gauge)?;
            gauge(&mut m, &NO_LABELS, i64::try_from(v).unwrap_or(i64::MAX))?;
        }

        let mut m = enc.encode_descriptor(
            "standin_backup_last_success_timestamp_seconds",
            "When the last backup finished (Unix time); 0 before the first.",
            None,
            MetricType::Gauge,
        )?;
        gauge(
            &mut m,
            &NO_LABELS,
            s.backup.last_success.load(Ordering::Relaxed) as i64,
        )?;

        let mut m = enc.encode_descriptor(
            "standin_build",
            "The running build.",
            None,
            MetricType::Info,
        )?;
        m.encode_info(&[("version", env!("CARGO_PKG_VERSION"))])?;
        Ok(())
    }
}
