//! `standin-soak`: runs standin under abuse for a while and checks that a well-behaved
//! client beside the abuse is still served quickly and correctly, that standin's memory
//! stays within a bound derived from its configuration, and that it stops on SIGTERM.
//!
//! See README.md for the traffic classes, the bound and how to read the report.

mod admin;
mod bound;
mod http;
mod report;
mod rss;
mod standin;
mod tally;
mod traffic;

use clap::Parser;
use report::{Class, cpu_use, render, round3};
use rss::{RSS_EVERY, TIMELINE_STEP, sample_rss};
use serde_json::json;
use standin::{LIMITS, Standin};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tally::Outcomes;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use traffic::{AtEnd, LoopResult, Plan, Requests};

/// Soak-and-abuse test for standin.
///
/// Starts the given standin binary with a fixed configuration, creates a service, then
/// runs a measured well-behaved client beside abusive traffic (costly XPath and
/// template evaluations, idle connections, stalled and large uploads, slow request
/// heads). Reports latency, outcomes, memory against a derived bound, and whether
/// standin stops on SIGTERM. Exits non-zero when the well-behaved client saw a failure,
/// memory exceeded the bound, standin did not stop, or (without --smoke) its p99 latency
/// exceeded 10 ms.
#[derive(Debug, Parser)]
#[command(name = "standin-soak", version)]
struct Args {
    /// The standin binary to test.
    #[arg(long, value_name = "PATH")]
    standin: PathBuf,
    /// How long the traffic runs: `60s`, `2m`, `500ms`, or plain seconds.
    /// Default: 60 s, or 15 s with --smoke.
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    duration: Option<Duration>,
    /// A short run with fewer abusive connections that does not assert latency (for
    /// `make test` on a loaded machine).
    #[arg(long)]
    smoke: bool,
    /// Also write the report as JSON to this file.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Pause before the next attempt after standin answered 503 to an upload or a
    /// connection could not be opened. 0 makes refused uploaders reconnect at once.
    #[arg(long, default_value_t = 200, value_name = "MS")]
    retry_pause_ms: u64,
    /// Do not pin standin to CPU 0 and the tool to CPU 1.
    #[arg(long)]
    no_pin: bool,
    /// Run only the well-behaved client, without any abuse: a reference for what the
    /// abuse costs it. Memory and shutdown are still checked.
    #[arg(long)]
    calm: bool,
}

/// The latency the well-behaved client must stay under at p99 in a full run.
const P99_LIMIT_MS: f64 = 10.0;
/// How long standin has to exit after SIGTERM.
const STOP_GRACE: Duration = Duration::from_secs(10);

fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let (number, unit) = match t.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => t.split_at(i),
        None => (t, "s"),
    };
    let n: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration such as 60s, 2m or 500ms"))?;
    let seconds = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("{text:?}: the unit must be ms, s, m or h")),
    };
    if !seconds.is_finite() || seconds <= 0.0 {
        return Err(format!("{text:?}: the duration must be positive"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// Where standin and the tool run.
struct Pinning {
    /// The CPU standin is pinned to, when pinning worked.
    standin_cpu: Option<u32>,
    /// The tool's CPUs as the kernel reports them after pinning.
    tool_cpus: String,
    note: String,
}

/// Pins this process to CPU 1 before any other thread exists, so that every tokio
/// worker created afterwards inherits the mask. This is simpler than re-executing under
/// `taskset -c 1` (no argument forwarding, no marker against loops) and does not rely on
/// a Makefile remembering to wrap the command. standin then goes on CPU 0, so that the
/// load generator and the server do not compete for a core.
fn pin_self(disabled: bool) -> Pinning {
    let cpus = || standin::cpus_allowed("self").unwrap_or_else(|| "unknown".into());
    let unpinned = |note: &str| Pinning {
        standin_cpu: None,
        tool_cpus: cpus(),
        note: note.into(),
    };
    if disabled {
        return unpinned("not pinned (--no-pin)");
    }
    if std::thread::available_parallelism().map_or(1, |n| n.get()) < 2 {
        return unpinned("not pinned: fewer than 2 CPUs");
    }
    if !standin::taskset_available() {
        return unpinned("not pinned: taskset is not installed");
    }
    let pinned = std::process::Command::new("taskset")
        .args(["-p", "-c", "1", &std::process::id().to_string()])
        .stdout(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !pinned {
        return unpinned("not pinned: taskset -p -c 1 failed");
    }
    Pinning {
        standin_cpu: Some(0),
        tool_cpus: cpus(),
        note: "standin on CPU 0 (taskset -c 0), this tool on CPU 1 (taskset -p -c 1 on itself at start)".into(),
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let pinning = pin_self(args.no_pin);
    // Two workers, both on the tool's one CPU: a second thread lets a measured loop
    // run while the other is busy writing an upload, without spreading onto standin's
    // CPU.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("standin-soak: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(args, pinning)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("standin-soak: {e}");
            ExitCode::from(2)
        }
    }
}

async fn join_all<T: Default>(handles: Vec<JoinHandle<T>>, panics: &mut Vec<String>) -> Vec<T> {
    let mut out = Vec::new();
    for h in handles {
        match h.await {
            Ok(v) => out.push(v),
            Err(e) => {
                panics.push(e.to_string());
                out.push(T::default());
            }
        }
    }
    out
}

fn merge_loops(results: Vec<LoopResult>) -> LoopResult {
    let mut all = LoopResult::default();
    for r in results {
        all.outcomes.merge(r.outcomes);
        all.latencies.merge(r.latencies);
    }
    all
}

fn merge_outcomes(results: Vec<Outcomes>) -> Outcomes {
    let mut all = Outcomes::default();
    for r in results {
        all.merge(r);
    }
    all
}

const EVALUATION_REFUSALS: &[&str] = &["500 budget_exceeded", "503 evaluation_lane_full"];

async fn run(args: Args, pinning: Pinning) -> Result<bool, String> {
    let duration = args.duration.unwrap_or(if args.smoke {
        Duration::from_secs(15)
    } else {
        Duration::from_secs(60)
    });
    let retry_pause = Duration::from_millis(args.retry_pause_ms);
    let plan = match (args.calm, args.smoke) {
        (true, _) => Plan::calm(),
        (false, true) => Plan::smoke(),
        (false, false) => Plan::full(),
    };

    let binary = args.standin.clone();
    let cpu = pinning.standin_cpu;
    let mut standin = tokio::task::spawn_blocking(move || Standin::start(&binary, cpu))
        .await
        .map_err(|e| format!("starting standin: {e}"))??;
    eprintln!(
        "standin-soak: standin pid {} (mock {}, admin {}); {}",
        standin.pid, standin.mock, standin.admin, pinning.note
    );
    admin::set_up(standin.admin).await?;

    let requests = Arc::new(Requests::new(standin.mock));
    // One request of each well-behaved kind before the clock starts: a broken set-up
    // should read as such, not as thousands of failures.
    for (what, request, judge) in [
        (
            "GET /soak/api/ok",
            &requests.ok,
            traffic::judge_ok as fn(&http::Response) -> String,
        ),
        (
            "GET /soak/api/hello/x",
            &requests.hello,
            traffic::judge_hello,
        ),
    ] {
        let answer = http::once(standin.mock, request)
            .await
            .map_err(|f| format!("{what} before the run: {}", f.label()))?;
        let verdict = judge(&answer);
        if verdict != traffic::OK {
            return Err(format!("{what} before the run: {verdict}"));
        }
    }

    // The baseline is read after a pause, so that start-up work has settled.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let baseline_kib = standin::proc_status(standin.pid)
        .ok_or("cannot read standin's /proc status")?
        .rss_kib;

    let clk_tck = standin::clock_ticks_per_second();
    let standin_pid = standin.pid.to_string();
    let cpu_before = (standin::cpu_ticks(&standin_pid), standin::cpu_ticks("self"));
    let (stop_sampler, sampler_stop) = oneshot::channel();
    let sampler = tokio::spawn(sample_rss(standin.pid, sampler_stop));

    eprintln!(
        "standin-soak: running {:?}{} with {} connections at most",
        duration,
        if args.smoke { " (smoke)" } else { "" },
        plan.max_connections()
    );
    let started = Instant::now();
    let end = started + duration;
    let mock = standin.mock;
    let ka = |n: usize,
              pick: fn(&Requests) -> &[u8],
              judge: fn(&http::Response) -> String,
              limit: Duration,
              at_end: AtEnd| {
        (0..n)
            .map(|_| {
                tokio::spawn(traffic::keep_alive_loop(
                    mock,
                    requests.clone(),
                    pick,
                    judge,
                    limit,
                    (started, end),
                    at_end,
                ))
            })
            .collect::<Vec<_>>()
    };
    let wb = ka(
        plan.well_behaved,
        traffic::pick_ok,
        traffic::judge_ok,
        traffic::well_behaved_limit(),
        AtEnd::Finish,
    );
    let hello = ka(
        plan.hello,
        traffic::pick_hello,
        traffic::judge_hello,
        traffic::well_behaved_limit(),
        AtEnd::Finish,
    );
    let xpath = ka(
        plan.xpath,
        traffic::pick_xpath,
        traffic::judge_label,
        traffic::abusive_limit(),
        AtEnd::Abandon,
    );
    let mustache = ka(
        plan.mustache,
        traffic::pick_mustache,
        traffic::judge_label,
        traffic::abusive_limit(),
        AtEnd::Abandon,
    );
    let idle: Vec<_> = (0..plan.idle)
        .map(|_| tokio::spawn(traffic::idle_loop(mock, retry_pause, end)))
        .collect();
    let uploads: Vec<_> = (0..plan.uploads)
        .map(|_| {
            tokio::spawn(traffic::upload_loop(
                mock,
                requests.clone(),
                false,
                retry_pause,
                end,
            ))
        })
        .collect();
    let large: Vec<_> = (0..plan.large)
        .map(|_| {
            tokio::spawn(traffic::upload_loop(
                mock,
                requests.clone(),
                true,
                retry_pause,
                end,
            ))
        })
        .collect();
    let slow: Vec<_> = (0..plan.slow)
        .map(|_| tokio::spawn(traffic::slow_loop(mock, requests.clone(), end)))
        .collect();

    let mut panics = Vec::new();
    let mut wb = merge_loops(join_all(wb, &mut panics).await);
    let measured = started.elapsed();
    let mut hello = merge_loops(join_all(hello, &mut panics).await);
    let xpath = merge_loops(join_all(xpath, &mut panics).await).outcomes;
    let mustache = merge_loops(join_all(mustache, &mut panics).await).outcomes;
    let idle = merge_outcomes(join_all(idle, &mut panics).await);
    let uploads = merge_outcomes(join_all(uploads, &mut panics).await);
    let large = merge_outcomes(join_all(large, &mut panics).await);
    let slow = merge_outcomes(join_all(slow, &mut panics).await);
    let traffic_ended = started.elapsed();
    let cpu = cpu_use(
        &cpu_before,
        &(standin::cpu_ticks(&standin_pid), standin::cpu_ticks("self")),
        clk_tck,
        traffic_ended,
    );

    let _ = stop_sampler.send(());
    let rss = sampler.await.unwrap_or_default();
    let final_status = standin::proc_status(standin.pid).unwrap_or_default();
    let status = admin::get_json(standin.admin, "/api/v1/status").await;
    let journal_stats = admin::get_json(standin.admin, "/api/v1/journal/stats").await;
    let exited_early = standin.exited();
    let stopped = tokio::task::spawn_blocking(move || {
        let stopped = standin.stop(STOP_GRACE);
        (standin, stopped)
    })
    .await
    .map_err(|e| format!("stopping standin: {e}"))?;
    let (standin, stopped) = stopped;
    let stderr = standin::summarize_stderr(&standin.stderr_path, 20);

    // The numbers.
    let wb_ok = wb.latencies.len() as u64;
    let wb_total = wb.outcomes.total();
    let wb_failures = wb_total - wb_ok;
    let hello_ok = hello.latencies.len() as u64;
    let hello_failures = hello.outcomes.total() - hello_ok;
    let latency = wb.latencies.summary();
    let hello_latency = hello.latencies.summary();
    let throughput = wb_ok as f64 / measured.as_secs_f64();
    let idle_closes = idle.total() - connect_failures(&idle);
    let bound = bound::derive(&LIMITS, baseline_kib * 1024, plan.max_connections() as u64);
    let rss_max = rss.max_kib * 1024;
    let hwm = final_status.hwm_kib * 1024;

    let classes = [
        Class {
            name: "xpath",
            what: "POST /soak/api/xpath, 33 KB XML, cubic XPath".into(),
            loops: plan.xpath,
            outcomes: xpath,
            expected: EVALUATION_REFUSALS,
        },
        Class {
            name: "mustache",
            what: "GET /soak/api/mustache with 90 extra headers, triple entrySet".into(),
            loops: plan.mustache,
            outcomes: mustache,
            expected: EVALUATION_REFUSALS,
        },
        Class {
            name: "unfinishedUploads",
            what: format!(
                "POST /soak/api/upload declaring {} bytes, sending {} and stalling",
                traffic::UPLOAD_DECLARED,
                traffic::UPLOAD_SENT
            ),
            loops: plan.uploads,
            outcomes: uploads,
            expected: &["503 uploads_full", "408 body_timeout"],
        },
        Class {
            name: "largeBodies",
            what: format!(
                "POST /soak/api/upload, complete {}-byte bodies ending in needle",
                traffic::UPLOAD_DECLARED
            ),
            loops: plan.large,
            outcomes: large,
            expected: &["201", "503 uploads_full"],
        },
        Class {
            name: "slowClient",
            what: "request heads one byte per 50 ms, alternately short and long".into(),
            loops: plan.slow,
            outcomes: slow,
            expected: &[],
        },
    ];

    // The verdict.
    let mut reasons = Vec::new();
    if wb_failures + hello_failures > 0 {
        reasons.push(format!(
            "the well-behaved client had {} failures",
            wb_failures + hello_failures
        ));
    }
    if wb_ok == 0 {
        reasons.push("the well-behaved client completed no request".to_string());
    }
    if rss_max > bound.total {
        reasons.push(format!(
            "standin's RSS reached {} against a bound of {}",
            bound::mib(rss_max),
            bound::mib(bound.total)
        ));
    }
    if rss.exited || exited_early.is_some() {
        reasons.push(format!(
            "standin exited during the run ({})",
            exited_early
                .as_deref()
                .unwrap_or("seen gone by the RSS sampler")
        ));
    }
    if !stopped.exited_in_time {
        reasons.push(format!(
            "standin did not stop on SIGTERM: {}",
            stopped.status
        ));
    }
    if !args.smoke && latency.p99_ms > P99_LIMIT_MS {
        reasons.push(format!(
            "the well-behaved p99 latency {:.3} ms exceeds {P99_LIMIT_MS} ms",
            latency.p99_ms
        ));
    }
    if !panics.is_empty() {
        reasons.push(format!("traffic tasks failed: {}", panics.join("; ")));
    }
    // Only the abusive routes may be blamed for running out of budget: a legitimately
    // costly request that waited behind them must not flag its own route.
    let blamed: Vec<String> = status["overBudgetRoutes"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|r| r["route"].as_str().map(str::to_string))
        .filter(|r| r != "soak/api/xpath" && r != "soak/api/mustache")
        .collect();
    if !blamed.is_empty() {
        reasons.push(format!(
            "routes that are not abusive were blamed for running out of budget: {}",
            blamed.join(", ")
        ));
    }
    let pass = reasons.is_empty();

    let report = json!({
        "tool": "standin-soak",
        "mode": match (args.calm, args.smoke) {
            (true, true) => "calm smoke",
            (true, false) => "calm",
            (false, true) => "smoke",
            (false, false) => "full",
        },
        "durationS": duration.as_secs_f64(),
        "measuredS": round3(measured.as_secs_f64()),
        "trafficEndedS": round3(traffic_ended.as_secs_f64()),
        "standinCommand": standin.command,
        "pinning": {
            "note": pinning.note,
            "standinCpu": pinning.standin_cpu,
            "toolCpus": pinning.tool_cpus,
            "toolRuntimeWorkers": 2,
        },
        "retryPauseMs": args.retry_pause_ms,
        "maxConnections": plan.max_connections(),
        "wellBehaved": {
            "connections": plan.well_behaved,
            "request": "GET /soak/api/ok (keep-alive, closed loop)",
            "requests": wb_total,
            "ok": wb_ok,
            "failures": wb_failures,
            "throughputRps": round3(throughput),
            "latencyMs": latency.to_json(),
            "slowSamples": wb.latencies.slow_samples(TIMELINE_STEP, 10),
            "outcomes": wb.outcomes.to_json(),
            "hello": {
                "request": "GET /soak/api/hello/x, body must be `hello x`",
                "requests": hello.outcomes.total(),
                "ok": hello_ok,
                "failures": hello_failures,
                "latencyMs": hello_latency.to_json(),
                "outcomes": hello.outcomes.to_json(),
            },
        },
        "abusive": classes.iter().map(|c| (c.name.to_string(), c.to_json())).collect::<serde_json::Map<_, _>>(),
        "idle": {
            "connections": plan.idle,
            "closes": idle_closes,
            "outcomes": idle.to_json(),
        },
        "cpu": cpu,
        "memory": {
            "baselineMib": bound::round_mib(baseline_kib * 1024),
            "rssMaxMib": bound::round_mib(rss_max),
            "vmHwmMib": bound::round_mib(hwm),
            "samples": rss.samples,
            "sampleEveryMs": RSS_EVERY.as_millis() as u64,
            "rssTimelineMib": rss.timeline_kib.iter().map(|k| bound::round_mib(k * 1024)).collect::<Vec<_>>(),
            "timelineStepS": TIMELINE_STEP.as_secs(),
            "bound": bound.to_json(),
            "rssWithinBound": rss_max <= bound.total,
            "hwmWithinBound": hwm <= bound.total,
        },
        "standin": {
            "status": status,
            "journalStats": journal_stats,
            "stderr": {
                "lines": stderr.lines,
                "warnings": stderr.warnings,
                "errors": stderr.errors,
                "first": stderr.head,
            },
            "shutdown": {
                "signalSent": stopped.signal_sent,
                "exitedWithin10s": stopped.exited_in_time,
                "afterMs": stopped.after_ms as u64,
                "status": stopped.status,
            },
        },
        "verdict": { "pass": pass, "reasons": reasons },
    });

    println!(
        "{}",
        render(
            &report,
            &wb.outcomes,
            &hello.outcomes,
            &classes,
            &idle,
            &bound
        )
    );
    if let Some(path) = &args.report {
        let text = serde_json::to_string_pretty(&report).unwrap_or_default();
        std::fs::write(path, text + "\n")
            .map_err(|e| format!("writing the report to {}: {e}", path.display()))?;
    }
    // The store and the log are kept when something failed, for a closer look.
    if pass {
        let _ = std::fs::remove_dir_all(&standin.dir);
    } else {
        eprintln!(
            "standin-soak: FAILED; standin's data and log are kept in {}",
            standin.dir.display()
        );
    }
    Ok(pass)
}

fn connect_failures(o: &Outcomes) -> u64 {
    o.count_matching(|label| label.starts_with("connect failed"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_units_or_plain_seconds() {
        assert_eq!(parse_duration("60s"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("15"), Ok(Duration::from_secs(15)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("5 parsecs").is_err());
    }
}
