//! The promise a shared server lives on: an acknowledged change is never lost, whatever
//! the disk does meanwhile.

use crate::support::{Standin, json_call};
use serde_json::json;
use std::process::Command;

/// The disk "fills up": a file-size limit (set with `prlimit`, lifted later from outside)
/// makes SQLite's writes fail with an I/O error, at COMMIT as on a full disk. Writes that
/// fail are refused; once the limit is lifted writes succeed again; after kill -9 every
/// acknowledged write is there. Before the fix, a failed commit left a pooled connection
/// inside a transaction: later writes were acknowledged into it and lost at restart.
#[test]
fn acknowledged_writes_survive_a_full_disk() {
    let dir = tempfile::tempdir().unwrap();
    // The shell ignores SIGXFSZ so a write past the limit fails instead of killing the
    // process; the soft limit can be raised later without privileges.
    let wrapper = [
        "sh",
        "-c",
        "trap '' XFSZ; exec prlimit --fsize=700000:unlimited \"$0\" \"$@\"",
    ];
    let mut s = Standin::start_via(&wrapper, &[], &[], dir);
    assert_eq!(
        json_call(s.admin, "POST", "/api/v1/teams", Some(json!({"slug": "t"}))).0,
        201
    );
    assert_eq!(
        json_call(
            s.admin,
            "POST",
            "/api/v1/teams/t/services",
            Some(json!({"slug": "s"}))
        )
        .0,
        201
    );
    let memo = "x".repeat(90 * 1024);
    let put = |s: &Standin, i: usize| {
        let route = json!({"memo": memo, "http": {"request": {"path": format!("/r{i}")}}});
        json_call(
            s.admin,
            "PUT",
            &format!("/api/v1/teams/t/services/s/routes/r{i}"),
            Some(route),
        )
    };
    let mut acknowledged = Vec::new();
    let mut refused = 0;
    for i in 0..16 {
        let (status, body) = put(&s, i);
        match status {
            201 => acknowledged.push(format!("r{i}")),
            500 => {
                assert_eq!(body["error"], "store_failure", "{body}");
                refused += 1;
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert!(refused >= 8, "the limit was reached ({refused} refused)");
    let lifted = Command::new("prlimit")
        .args(["--pid", &s.pid().to_string(), "--fsize=unlimited"])
        .status()
        .unwrap();
    assert!(lifted.success());
    for i in 16..24 {
        let (status, body) = put(&s, i);
        assert_eq!(status, 201, "writes succeed once there is room: {body}");
        acknowledged.push(format!("r{i}"));
    }
    s.kill_9();
    let s = Standin::restart(s, &[]);
    let (status, routes) = json_call(s.admin, "GET", "/api/v1/teams/t/services/s/routes", None);
    assert_eq!(status, 200);
    let mut kept: Vec<String> = routes
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    kept.sort();
    acknowledged.sort();
    assert_eq!(
        kept, acknowledged,
        "every acknowledged write, and only those"
    );
}
