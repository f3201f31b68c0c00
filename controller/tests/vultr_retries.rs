//! The Vultr client's 429/5xx handling, Retry-After, which calls are retried, and the token
//! bucket that keeps it under Vultr's 30 requests/s.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use edgio_ingress::providers::vultr::{NewRecord, VultrClient, VultrConfig};
use edgio_ingress::providers::{CallObserver, CallRecord};
use serde_json::json;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

#[derive(Default)]
struct Recorder(Mutex<Vec<CallRecord>>);

impl CallObserver for Recorder {
    fn observe(&self, call: &CallRecord) {
        self.0.lock().unwrap().push(call.clone());
    }
}

fn config(server: &MockServer, max_retries: u32) -> VultrConfig {
    let mut cfg = VultrConfig::new(format!("{}/v2", server.uri()), "demo-vultr-key");
    cfg.requests_per_second = 0.0;
    cfg.max_retries = max_retries;
    cfg.initial_backoff = Duration::from_millis(1);
    cfg.max_backoff = Duration::from_millis(5);
    cfg
}

fn empty_records() -> serde_json::Value {
    json!({"records": [], "meta": {"total": 0, "links": {"next": "", "prev": ""}}})
}

fn rate_limited(retry_after: &str) -> ResponseTemplate {
    ResponseTemplate::new(429)
        .insert_header("Retry-After", retry_after)
        .set_body_json(json!({"error": "Rate limit reached", "status": 429}))
}

#[tokio::test]
async fn list_survives_429_bursts_and_the_caller_never_sees_them() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(rate_limited("0"))
        .up_to_n_times(3)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(empty_records()))
        .mount(&server)
        .await;
    let rec = Arc::new(Recorder::default());
    let client = VultrClient::new(config(&server, 5))
        .unwrap()
        .with_observer(rec.clone());
    let got = client
        .list_records("example.com")
        .await
        .expect("429s are absorbed");
    assert!(got.is_empty());
    let statuses: Vec<Option<u16>> = rec.0.lock().unwrap().iter().map(|c| c.status).collect();
    assert_eq!(statuses, [Some(429), Some(429), Some(429), Some(200)]);
    assert!(
        rec.0
            .lock()
            .unwrap()
            .iter()
            .all(|c| c.provider == "vultr" && c.operation == "list_records")
    );
}

#[tokio::test]
async fn create_record_is_retried_after_429_honouring_retry_after() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(rate_limited("1"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "record": {"id": "r-1", "type": "A", "name": "origin", "data": "192.0.2.1", "priority": -1, "ttl": 300}
        })))
        .mount(&server)
        .await;
    let started = Instant::now();
    let got = VultrClient::new(config(&server, 3))
        .unwrap()
        .create_record("example.com", &NewRecord::new("origin", "A", "192.0.2.1"))
        .await
        .expect("created after one 429");
    assert_eq!(got.id, "r-1");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(950),
        "Retry-After: 1 not honoured, waited {waited:?}"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn create_record_is_not_retried_on_500() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500).set_body_string("internal error"))
        .expect(1)
        .mount(&server)
        .await;
    let err = VultrClient::new(config(&server, 3))
        .unwrap()
        .create_record("example.com", &NewRecord::new("origin", "A", "192.0.2.1"))
        .await
        .expect_err("500");
    assert_eq!(err.status(), Some(500));
    assert!(err.is_retryable());
    assert!(
        err.to_string()
            .ends_with("500 Internal Server Error: internal error"),
        "{err}"
    );
}

#[tokio::test]
async fn patch_and_delete_are_retried_on_5xx() {
    let server = MockServer::start().await;
    Mock::given(method("PATCH"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .respond_with(ResponseTemplate::new(502))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    let c = VultrClient::new(config(&server, 2)).unwrap();
    let patch = edgio_ingress::providers::vultr::RecordPatch {
        ttl: Some(120),
        ..Default::default()
    };
    c.update_record("example.com", "r-1", &patch)
        .await
        .expect("patched on retry");
    assert!(
        c.delete_record("example.com", "r-1")
            .await
            .expect("deleted on retry")
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 4);
}

#[tokio::test]
async fn gives_up_after_max_retries_with_a_retryable_rate_limited_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(rate_limited("0"))
        .expect(3)
        .mount(&server)
        .await;
    let err = VultrClient::new(config(&server, 2))
        .unwrap()
        .get_domain("example.com")
        .await
        .expect_err("429 forever");
    assert!(err.is_retryable());
    assert_eq!(err.status(), Some(429));
    assert_eq!(err.reason(), "VultrRateLimited");
    assert_eq!(
        err.to_string(),
        "vultr get_domain example.com: 429 Too Many Requests: Rate limit reached"
    );
}

#[tokio::test]
async fn not_found_and_bad_request_are_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("PATCH"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(json!({"error": "TTL mismatch", "status": 400})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let patch = edgio_ingress::providers::vultr::RecordPatch {
        ttl: Some(1),
        ..Default::default()
    };
    let err = VultrClient::new(config(&server, 4))
        .unwrap()
        .update_record("example.com", "r-1", &patch)
        .await
        .expect_err("400");
    assert!(!err.is_retryable());
}

#[test]
fn default_rate_limit_stays_under_vultrs_30_per_second() {
    let cfg = VultrConfig::new("https://api.vultr.com/v2", "k");
    // A token bucket lets at most burst + rate calls start in any one-second window.
    assert!(
        cfg.requests_per_second + f64::from(cfg.burst) < 30.0,
        "{cfg:?}"
    );
    assert!(cfg.requests_per_second > 0.0);
}

#[tokio::test]
async fn default_token_bucket_spreads_a_burst_of_calls_over_time() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(empty_records()))
        .mount(&server)
        .await;
    let mut cfg = VultrConfig::new(format!("{}/v2", server.uri()), "demo-vultr-key");
    cfg.max_retries = 0;
    let client = VultrClient::new(cfg.clone()).unwrap();
    let started = Instant::now();
    let n = 30usize;
    let calls = (0..n).map(|_| {
        let c = client.clone();
        async move { c.list_records("example.com").await }
    });
    for r in futures::future::join_all(calls).await {
        r.expect("listed");
    }
    // Clones share one bucket: after the burst, the rest go at `requests_per_second`.
    let min = (n as f64 - f64::from(cfg.burst)) / cfg.requests_per_second;
    let took = started.elapsed().as_secs_f64();
    assert!(
        took >= min - 0.05,
        "{n} calls took {took:.3}s, expected at least {min:.3}s"
    );
}
