//! Rate limiting, fault injection, the admin API and the state file of the real binary.

mod common;

use std::time::{Duration, Instant};

use common::Mock;
use serde_json::json;

const ZONE: &str = "example.com";
const RECORDS: &str = "/v2/domains/example.com/records";

fn retry_after(reply: &common::Reply) -> u64 {
    reply
        .headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("429 without a numeric Retry-After: {:?}", reply.headers))
}

#[tokio::test]
async fn rate_limiter_answers_429_with_retry_after_then_recovers() {
    // 2/s keeps the test meaningful even when calls are slow on a loaded machine.
    let mock = Mock::start(&["--domain", ZONE, "--rate-limit", "2"]);
    let mut limited = None;
    for _ in 0..20 {
        let reply = mock.get("/v2/domains").await;
        if reply.status == 429 {
            limited = Some(reply);
            break;
        }
        assert_eq!(reply.status, 200);
    }
    let limited = limited.expect("20 quick calls at 2 req/s hit the limit");
    limited.assert_error(429, "Rate limit");
    let wait = retry_after(&limited);
    assert!(wait >= 1);

    // The admin API is not limited.
    for _ in 0..20 {
        assert_eq!(
            mock.admin("GET", "/__admin/requests", None).await.status,
            200
        );
    }

    // Waiting as told is enough.
    tokio::time::sleep(Duration::from_secs(wait)).await;
    assert_eq!(mock.get("/v2/domains").await.status, 200);

    // The 429s are in the request log.
    let log = mock.admin("GET", "/__admin/requests", None).await.json();
    assert!(
        log.as_array()
            .expect("log")
            .iter()
            .any(|e| e["status"] == 429)
    );
}

#[tokio::test]
async fn rate_limit_can_be_changed_and_disabled_at_run_time() {
    let mock = Mock::start(&["--domain", ZONE, "--rate-limit", "0"]);
    for _ in 0..100 {
        assert_eq!(mock.get("/v2/domains").await.status, 200);
    }
    let put = mock
        .admin(
            "PUT",
            "/__admin/faults",
            Some(r#"{"rate_limit_per_sec":2}"#),
        )
        .await;
    assert_eq!(put.status, 200, "{}", put.body);
    let statuses: Vec<u16> = {
        let mut out = Vec::new();
        for _ in 0..6 {
            out.push(mock.get("/v2/domains").await.status);
        }
        out
    };
    assert!(statuses.contains(&429), "{statuses:?}");
}

#[tokio::test]
async fn injected_faults_fail_requests_as_configured() {
    let mock = Mock::start(&["--domain", ZONE, "--rate-limit", "0"]);

    // Every POST fails with a 5xx; GETs are untouched.
    let put = mock
        .admin(
            "PUT",
            "/__admin/faults",
            Some(r#"{"error_rate":{"post":1.0}}"#),
        )
        .await;
    assert_eq!(put.status, 200);
    assert_eq!(put.json()["error_rate"], json!({"POST": 1.0}));
    for _ in 0..6 {
        let reply = mock
            .post(RECORDS, r#"{"name":"a","type":"A","data":"192.0.2.1"}"#)
            .await;
        assert!((500..600).contains(&reply.status), "{}", reply.status);
        assert_eq!(mock.get(RECORDS).await.status, 200);
    }
    // None of the failed creates happened.
    assert_eq!(mock.get(RECORDS).await.json()["meta"]["total"], 0);

    // A burst of 429s with the configured Retry-After, then normal service.
    let put = mock
        .admin(
            "PUT",
            "/__admin/faults",
            Some(r#"{"burst_429":2,"retry_after_secs":7}"#),
        )
        .await;
    assert_eq!(put.status, 200);
    let faults = mock.admin("GET", "/__admin/faults", None).await.json();
    assert_eq!(faults["burst_429"], 2);
    assert_eq!(
        faults["error_rate"],
        json!({}),
        "PUT replaces the whole setting"
    );
    for _ in 0..2 {
        let reply = mock.get(RECORDS).await;
        reply.assert_error(429, "");
        assert_eq!(retry_after(&reply), 7);
    }
    assert_eq!(mock.get(RECORDS).await.status, 200);
    assert_eq!(
        mock.admin("GET", "/__admin/faults", None).await.json()["burst_429"],
        0
    );

    // Latency.
    mock.admin("PUT", "/__admin/faults", Some(r#"{"latency_ms":300}"#))
        .await;
    let started = Instant::now();
    assert_eq!(mock.get(RECORDS).await.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));

    // Invalid settings are refused and leave the current ones in place.
    mock.admin(
        "PUT",
        "/__admin/faults",
        Some(r#"{"error_rate":{"GET":2}}"#),
    )
    .await
    .assert_error(400, "between 0 and 1");
    mock.admin("PUT", "/__admin/faults", Some("nope"))
        .await
        .assert_error(400, "Invalid faults");
    assert_eq!(
        mock.admin("GET", "/__admin/faults", None).await.json()["latency_ms"],
        300
    );
}

#[tokio::test]
async fn start_up_fault_flags_apply_from_the_first_request() {
    let mock = Mock::start(&[
        "--domain",
        ZONE,
        "--rate-limit",
        "0",
        "--error-rate",
        "*=1",
        "--burst-429",
        "1",
        "--retry-after",
        "3",
    ]);
    let first = mock.get(RECORDS).await;
    assert_eq!(first.status, 429);
    assert_eq!(retry_after(&first), 3);
    for _ in 0..3 {
        assert!(mock.get(RECORDS).await.status >= 500);
    }
    let faults = mock.admin("GET", "/__admin/faults", None).await.json();
    assert_eq!(faults["error_rate"], json!({"*": 1.0}));
    assert_eq!(faults["retry_after_secs"], 3);
}

#[tokio::test]
async fn reset_restores_the_start_up_state_and_clears_the_log() {
    let mock = Mock::start(&["--domain", ZONE, "--rate-limit", "0"]);
    mock.create_record(ZONE, json!({"name":"a","type":"A","data":"192.0.2.1"}))
        .await;
    assert_eq!(
        mock.post("/v2/domains", r#"{"domain":"other.test"}"#)
            .await
            .status,
        200
    );
    mock.admin("PUT", "/__admin/faults", Some(r#"{"latency_ms":50}"#))
        .await;

    let log = mock.admin("GET", "/__admin/requests", None).await.json();
    let entries = log.as_array().expect("log");
    assert_eq!(entries.len(), 2, "admin calls are not logged: {log}");
    assert_eq!(entries[0]["method"], "POST");
    assert_eq!(entries[0]["path"], RECORDS);
    assert_eq!(entries[0]["query"], "");
    assert_eq!(entries[0]["status"], 201);
    assert!(entries[0]["time"].as_str().is_some_and(|t| t.contains('T')));

    let reset = mock.admin("POST", "/__admin/reset", None).await;
    assert_eq!(reset.status, 200);
    assert_eq!(reset.json(), json!({"status": "reset"}));
    assert_eq!(
        mock.admin("GET", "/__admin/requests", None).await.json(),
        json!([])
    );
    let state = mock.admin("GET", "/__admin/state", None).await.json();
    assert_eq!(state["domains"].as_array().map(Vec::len), Some(1));
    assert_eq!(state["domains"][0]["domain"], ZONE);
    assert_eq!(state["domains"][0]["records"], json!([]));
    assert_eq!(
        mock.admin("GET", "/__admin/faults", None).await.json()["latency_ms"],
        0
    );

    // The log records queries; DELETE clears it.
    mock.get("/v2/domains?per_page=5").await;
    let log = mock.admin("GET", "/__admin/requests", None).await.json();
    assert_eq!(log[0]["query"], "per_page=5");
    assert_eq!(
        mock.admin("DELETE", "/__admin/requests", None).await.json(),
        json!({"cleared": 1})
    );
    assert_eq!(
        mock.admin("GET", "/__admin/requests", None).await.json(),
        json!([])
    );
}

#[tokio::test]
async fn state_file_survives_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("vultr-state.json");
    let file = path.to_str().expect("utf-8 path");
    let args = ["--domain", ZONE, "--rate-limit", "0", "--state-file", file];

    let first = Mock::start(&args);
    let id = first
        .create_record(
            ZONE,
            json!({"name":"keep","type":"TXT","data":"\"kept\"","ttl":77}),
        )
        .await;
    assert_eq!(
        first
            .post("/v2/domains", r#"{"domain":"later.test"}"#)
            .await
            .status,
        200
    );
    let before = first.admin("GET", "/__admin/state", None).await.json();
    first.kill();

    let second = Mock::start(&args);
    assert_eq!(
        second.admin("GET", "/__admin/state", None).await.json(),
        before
    );
    let got = second.get(&format!("{RECORDS}/{id}")).await.json();
    assert_eq!(
        got["record"],
        json!({"id":id,"type":"TXT","name":"keep","data":"\"kept\"","priority":-1,"ttl":77})
    );
    // Reset returns to the state loaded at start-up, not to an empty zone.
    second
        .create_record(ZONE, json!({"name":"extra","type":"A","data":"192.0.2.1"}))
        .await;
    assert_eq!(
        second.admin("POST", "/__admin/reset", None).await.status,
        200
    );
    assert_eq!(
        second.admin("GET", "/__admin/state", None).await.json(),
        before
    );
}

#[test]
fn corrupt_state_file_is_a_clear_start_up_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("broken.json");
    std::fs::write(&path, "{\"version\":1,\"store\":").expect("write");
    let stderr = Mock::start_failure(&["--state-file", path.to_str().expect("utf-8 path")]);
    assert!(stderr.contains("corrupt"), "{stderr}");
    assert!(stderr.contains("broken.json"), "{stderr}");
}
