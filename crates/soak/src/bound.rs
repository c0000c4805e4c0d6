//! The memory bound: what standin's resident memory may reach under this run, derived
//! from its configuration rather than from a previous measurement, so that a breach
//! means memory is not bounded the way the configuration promises.

use crate::standin::Limits;
use serde_json::{Value, json};

const KIB: u64 = 1024;
const MIB: u64 = 1024 * 1024;

/// One term of the bound, with the arithmetic that produced it.
#[derive(Debug, Clone)]
pub struct Term {
    pub name: &'static str,
    pub bytes: u64,
    pub formula: String,
    pub why: &'static str,
}

#[derive(Debug, Clone)]
pub struct Bound {
    pub terms: Vec<Term>,
    pub total: u64,
}

/// Services that receive traffic in this run: `soak/api`, and the bucket standin keeps
/// for requests that resolve to no service.
const SERVICES_WITH_TRAFFIC: u64 = 2;
/// Headers and bookkeeping of one journal entry, beside its two bodies.
const JOURNAL_ENTRY_OVERHEAD: u64 = 4 * KIB;
/// A queued evaluation holds a copy of its request; the largest in this run is the
/// 33 KB XPath body with its head.
const PER_QUEUED_EVALUATION: u64 = 40 * KIB;
/// The one evaluation running at a time: its parsed document and node sets.
const RUNNING_EVALUATION: u64 = 32 * MIB;
/// Allowance for the allocator on top of the body budget (see the `why` of that term).
const BODY_ALLOCATOR_FACTOR: u64 = 2;

pub fn derive(limits: &Limits, baseline_bytes: u64, connections: u64) -> Bound {
    let journal_entry = 2 * limits.journal_max_body_bytes + JOURNAL_ENTRY_OVERHEAD;
    // hyper lets a connection's read buffer grow to `max-header-bytes`; with the write
    // buffer that is about this much per connection.
    let per_connection = limits.max_header_bytes;
    let terms = vec![
        Term {
            name: "baseline",
            bytes: baseline_bytes,
            formula: format!(
                "VmRSS after start-up and route creation, before traffic = {}",
                mib(baseline_bytes)
            ),
            why: "code, runtimes, the compiled route table, SQLite's page cache",
        },
        Term {
            name: "in-flight bodies",
            bytes: BODY_ALLOCATOR_FACTOR * limits.max_inflight_body_bytes,
            formula: format!(
                "{BODY_ALLOCATOR_FACTOR} x max-inflight-body-bytes {} = {}",
                limits.max_inflight_body_bytes,
                mib(BODY_ALLOCATOR_FACTOR * limits.max_inflight_body_bytes)
            ),
            why: "bodies held while being read; x2 because a body arrives as many buffers \
                  that are copied into one when complete (both exist for a moment), and \
                  because the allocator keeps freed memory in per-thread arenas instead of \
                  returning it, so a later body may land in fresh pages",
        },
        Term {
            name: "journal",
            bytes: limits.journal_capacity_per_service * SERVICES_WITH_TRAFFIC * journal_entry,
            formula: format!(
                "capacity-per-service {} x services with traffic {SERVICES_WITH_TRAFFIC} x \
                 (2 x journal max-body-bytes {} + 4 KiB) = {}",
                limits.journal_capacity_per_service,
                limits.journal_max_body_bytes,
                mib(limits.journal_capacity_per_service * SERVICES_WITH_TRAFFIC * journal_entry)
            ),
            why: "full rings of soak/api and of the unresolved bucket, each entry with a \
                  request and a response body cut to max-body-bytes, plus headers",
        },
        Term {
            name: "connections",
            bytes: connections * per_connection,
            formula: format!(
                "connections the tool opens at most {connections} x max-header-bytes {} = {}",
                per_connection,
                mib(connections * per_connection)
            ),
            why: "hyper's read buffer (up to max-header-bytes, 64 KiB) and write buffer",
        },
        Term {
            name: "evaluation lane",
            bytes: limits.evaluation_queue * PER_QUEUED_EVALUATION + RUNNING_EVALUATION,
            formula: format!(
                "evaluation-queue {} x 40 KiB + 32 MiB = {}",
                limits.evaluation_queue,
                mib(limits.evaluation_queue * PER_QUEUED_EVALUATION + RUNNING_EVALUATION)
            ),
            why: "queued request copies, and one running evaluation's document and node sets",
        },
    ];
    let total = terms.iter().map(|t| t.bytes).sum();
    Bound { terms, total }
}

impl Bound {
    pub fn to_json(&self) -> Value {
        let terms: Vec<Value> = self
            .terms
            .iter()
            .map(|t| {
                json!({
                    "term": t.name,
                    "mib": round_mib(t.bytes),
                    "formula": t.formula,
                    "why": t.why,
                })
            })
            .collect();
        json!({
            "formula": "baseline + 2 x in-flight body budget + journal + connections x 64 KiB + evaluation lane",
            "terms": terms,
            "totalMib": round_mib(self.total),
        })
    }
}

/// Bytes as MiB with one decimal, for the formulas.
pub fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / MIB as f64)
}

/// Bytes as MiB rounded to a tenth, for the JSON.
pub fn round_mib(bytes: u64) -> f64 {
    (bytes as f64 / MIB as f64 * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::standin::LIMITS;

    #[test]
    fn the_terms_follow_the_configuration() {
        let b = derive(&LIMITS, 20 * MIB, 615);
        let by = |n: &str| b.terms.iter().find(|t| t.name == n).unwrap().bytes;
        assert_eq!(by("in-flight bodies"), 128 * MIB);
        assert_eq!(by("journal"), 1000 * 2 * (2 * 65_536 + 4096));
        assert_eq!(by("connections"), 615 * 64 * KIB);
        assert_eq!(by("evaluation lane"), 64 * 40 * KIB + 32 * MIB);
        assert_eq!(b.total, b.terms.iter().map(|t| t.bytes).sum::<u64>());
    }
}
