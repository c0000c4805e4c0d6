//! The soak report: the abusive classes, CPU use, and the text for people.

use crate::bound;
use crate::standin;
use crate::tally::Outcomes;
use serde_json::{Value, json};
use std::time::Duration;

/// An abusive class in the report: its outcomes against the ones expected.
pub(crate) struct Class {
    pub name: &'static str,
    pub what: String,
    pub loops: usize,
    pub outcomes: Outcomes,
    pub expected: &'static [&'static str],
}

impl Class {
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "what": self.what,
            "connections": self.loops,
            "total": self.outcomes.total(),
            "expected": self.expected,
            "unexpected": self.outcomes.unexpected(self.expected),
            "outcomes": self.outcomes.to_json(),
        })
    }
}

/// CPU use during the traffic as a percentage of one CPU: standin's in all and per
/// thread name (the mock worker, the evaluation lane, the control plane), and the
/// tool's, which shows whether the load generator itself was the bottleneck.
pub(crate) fn cpu_use(
    before: &(standin::CpuTicks, standin::CpuTicks),
    after: &(standin::CpuTicks, standin::CpuTicks),
    clk_tck: u64,
    over: Duration,
) -> Value {
    let percent = |ticks: u64| {
        let seconds = ticks as f64 / clk_tck as f64;
        (seconds / over.as_secs_f64() * 1000.0).round() / 10.0
    };
    let threads = |b: &standin::CpuTicks, a: &standin::CpuTicks| {
        a.threads
            .iter()
            .map(|(name, t)| {
                let was = b.threads.get(name).copied().unwrap_or(0);
                (name.clone(), json!(percent(t.saturating_sub(was))))
            })
            .collect::<serde_json::Map<_, _>>()
    };
    json!({
        "standinPercent": percent(after.0.process.saturating_sub(before.0.process)),
        "standinThreadsPercent": threads(&before.0, &after.0),
        "toolPercent": percent(after.1.process.saturating_sub(before.1.process)),
        "toolThreadsPercent": threads(&before.1, &after.1),
        "note": "percent of one CPU over the traffic phase; per thread name, summed over threads of that name",
    })
}

pub(crate) fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// The report for people: the same numbers as the JSON, in reading order.
pub(crate) fn render(
    r: &Value,
    wb: &Outcomes,
    hello: &Outcomes,
    classes: &[Class],
    idle: &Outcomes,
    bound: &bound::Bound,
) -> String {
    let mut out = Vec::new();
    let mut line = |s: String| out.push(s);
    let w = &r["wellBehaved"];
    let l = &w["latencyMs"];
    line(format!(
        "== standin-soak ({}) : {} s configured, {} s measured",
        r["mode"].as_str().unwrap_or(""),
        r["durationS"],
        r["measuredS"]
    ));
    line(format!(
        "standin: {}",
        r["standinCommand"].as_str().unwrap_or("")
    ));
    line(format!(
        "pinning: {} (tool CPUs: {})",
        r["pinning"]["note"].as_str().unwrap_or(""),
        r["pinning"]["toolCpus"].as_str().unwrap_or("")
    ));
    line(format!(
        "connections opened at most: {}; retry pause after 503: {} ms",
        r["maxConnections"], r["retryPauseMs"]
    ));
    line(String::new());
    line(format!(
        "-- well-behaved: {} keep-alive connections, GET /soak/api/ok",
        w["connections"]
    ));
    line(format!(
        "requests {}  ok {}  failures {}  throughput {:.0} req/s",
        w["requests"],
        w["ok"],
        w["failures"],
        w["throughputRps"].as_f64().unwrap_or(0.0)
    ));
    line(format!(
        "latency ms: p50 {}  p90 {}  p99 {}  p99.9 {}  max {}  (mean {})",
        l["p50Ms"], l["p90Ms"], l["p99Ms"], l["p999Ms"], l["maxMs"], l["meanMs"]
    ));
    let slow = &w["slowSamples"];
    line(format!(
        "samples over {} ms: {}; per {} s of the run: {}",
        slow["thresholdMs"], slow["count"], slow["stepS"], slow["perStep"]
    ));
    line(format!(
        "slowest (s into the run, ms): {}",
        slow["slowest"]
            .as_array()
            .map(|a| a
                .iter()
                .map(|v| format!("{}s {}", v["atS"], v["ms"]))
                .collect::<Vec<_>>()
                .join(", "))
            .unwrap_or_default()
    ));
    out_lines(&mut line, wb);
    let h = &w["hello"];
    line(format!(
        "hello/x: requests {}  ok {}  failures {}  latency ms p50 {} p99 {} max {}",
        h["requests"],
        h["ok"],
        h["failures"],
        h["latencyMs"]["p50Ms"],
        h["latencyMs"]["p99Ms"],
        h["latencyMs"]["maxMs"]
    ));
    out_lines(&mut line, hello);
    for c in classes {
        line(String::new());
        line(format!(
            "-- {} ({} connections): {}",
            c.name, c.loops, c.what
        ));
        if c.expected.is_empty() {
            line(format!(
                "{} outcomes (any answer is counted)",
                c.outcomes.total()
            ));
        } else {
            line(format!(
                "{} outcomes, {} unexpected (expected: {})",
                c.outcomes.total(),
                c.outcomes.unexpected(c.expected),
                c.expected.join(", ")
            ));
        }
        out_lines(&mut line, &c.outcomes);
    }
    line(String::new());
    line(format!(
        "-- idle: {} connections sending nothing; {} closes",
        r["idle"]["connections"], r["idle"]["closes"]
    ));
    out_lines(&mut line, idle);
    line(String::new());
    let c = &r["cpu"];
    line(format!(
        "-- CPU (% of one CPU): standin {} {}; tool {} {}",
        c["standinPercent"], c["standinThreadsPercent"], c["toolPercent"], c["toolThreadsPercent"]
    ));
    line(String::new());
    let m = &r["memory"];
    line(format!(
        "-- memory: baseline {} MiB, RSS max {} MiB ({} samples every {} ms), VmHWM {} MiB",
        m["baselineMib"], m["rssMaxMib"], m["samples"], m["sampleEveryMs"], m["vmHwmMib"]
    ));
    line(format!(
        "RSS per {} s (max): {}",
        m["timelineStepS"],
        m["rssTimelineMib"]
            .as_array()
            .map(|a| a
                .iter()
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join(" "))
            .unwrap_or_default()
    ));
    line(format!(
        "bound {} = baseline + 2 x in-flight body budget + journal + connections x 64 KiB + evaluation lane",
        bound::mib(bound.total)
    ));
    for t in &bound.terms {
        line(format!(
            "  {:<17} {:>10}   {}",
            t.name,
            bound::mib(t.bytes),
            t.formula
        ));
    }
    line(format!(
        "RSS max within bound: {}; VmHWM within bound: {}",
        m["rssWithinBound"], m["hwmWithinBound"]
    ));
    line(String::new());
    let s = &r["standin"];
    line(format!("-- standin status: {}", s["status"]));
    line(format!("-- journal stats: {}", s["journalStats"]));
    line(format!(
        "-- standin stderr: {} lines, {} warnings, {} errors",
        s["stderr"]["lines"], s["stderr"]["warnings"], s["stderr"]["errors"]
    ));
    if let Some(first) = s["stderr"]["first"].as_array() {
        for l in first {
            line(format!("  | {}", l.as_str().unwrap_or("")));
        }
    }
    let sd = &s["shutdown"];
    line(format!(
        "-- SIGTERM: sent {}, exited within 10 s {}, after {} ms, {}",
        sd["signalSent"],
        sd["exitedWithin10s"],
        sd["afterMs"],
        sd["status"].as_str().unwrap_or("")
    ));
    line(String::new());
    let v = &r["verdict"];
    if v["pass"].as_bool() == Some(true) {
        line("== PASS".into());
    } else {
        line("== FAIL".into());
        if let Some(reasons) = v["reasons"].as_array() {
            for reason in reasons {
                line(format!("  - {}", reason.as_str().unwrap_or("")));
            }
        }
    }
    out.join("\n")
}

fn out_lines(line: &mut impl FnMut(String), o: &Outcomes) {
    for l in o.lines() {
        line(format!("  {l}"));
    }
}
