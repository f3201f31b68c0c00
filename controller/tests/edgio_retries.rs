//! The Edgio client's retry, backoff, Retry-After, rate-limit and observer behaviour against a
//! wiremock server (tiny backoffs so the tests are fast).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use edgio_ingress::providers::edgio::{
    EdgioClient, EdgioConfig, EdgioError, Instance, InstanceBody,
};
use edgio_ingress::providers::{CallObserver, CallRecord};
use serde_json::json;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const KEY_HEX: &str = "00112233445566778899aabbccddeeff";

#[derive(Default)]
struct Recorder(Mutex<Vec<CallRecord>>);

impl CallObserver for Recorder {
    fn observe(&self, call: &CallRecord) {
        self.0.lock().unwrap().push(call.clone());
    }
}

impl Recorder {
    fn attempts(&self) -> Vec<(u32, Option<u16>, &'static str)> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|c| (c.attempt, c.status, c.operation))
            .collect()
    }
}

fn config(base: &str, max_retries: u32) -> EdgioConfig {
    let mut cfg = EdgioConfig::new(format!("{base}/config-api/v1"), "demo", KEY_HEX);
    cfg.requests_per_second = 0.0;
    cfg.max_retries = max_retries;
    cfg.initial_backoff = Duration::from_millis(1);
    cfg.max_backoff = Duration::from_millis(5);
    cfg.timeout = Duration::from_secs(5);
    cfg
}

fn client_with_recorder(base: &str, max_retries: u32) -> (EdgioClient, Arc<Recorder>) {
    let rec = Arc::new(Recorder::default());
    let client = EdgioClient::new(config(base, max_retries))
        .unwrap()
        .with_observer(rec.clone());
    (client, rec)
}

fn instance_json() -> serde_json::Value {
    json!({
        "uuid": "u-1",
        "revision": {"versionNumber": 1},
        "accounts": [{"shortname": "demo"}],
        "body": {"publishedHostname": "demo.s.llnwi.net", "publishedUrlPath": "/fred",
                 "sourceHostname": "origin.example.com", "protocolSets": []}
    })
}

fn new_instance() -> Instance {
    Instance::new(
        "demo",
        InstanceBody {
            published_hostname: "demo.s.llnwi.net".into(),
            published_url_path: "/fred".into(),
            source_hostname: "origin.example.com".into(),
            ..InstanceBody::default()
        },
    )
}

#[tokio::test]
async fn get_retries_5xx_until_success_and_observer_sees_every_attempt() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503).set_body_string("busy"))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(instance_json()))
        .mount(&server)
        .await;

    let (client, rec) = client_with_recorder(&server.uri(), 4);
    let got = client.get("u-1").await.expect("succeeds after retries");
    assert_eq!(got.and_then(|i| i.uuid).as_deref(), Some("u-1"));
    assert_eq!(
        rec.attempts(),
        vec![
            (1, Some(503), "get"),
            (2, Some(503), "get"),
            (3, Some(200), "get")
        ]
    );
}

#[tokio::test]
async fn get_gives_up_after_max_retries_with_a_retryable_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(500).set_body_json(json!({"status": 500, "message": "boom"})),
        )
        .expect(3)
        .mount(&server)
        .await;

    let (client, rec) = client_with_recorder(&server.uri(), 2);
    let err = client.get("u-1").await.expect_err("always 500");
    assert!(err.is_retryable());
    assert_eq!(err.status(), Some(500));
    assert_eq!(err.reason(), "ProviderUnavailable");
    assert_eq!(
        err.to_string(),
        "edgio get svcinst/delivery/u-1: 500 Internal Server Error: boom"
    );
    assert_eq!(rec.attempts().len(), 3);
}

#[tokio::test]
async fn create_is_not_retried_on_5xx_because_the_server_may_have_acted() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(502))
        .expect(1)
        .mount(&server)
        .await;
    let (client, _) = client_with_recorder(&server.uri(), 4);
    let err = client.create(&new_instance()).await.expect_err("502");
    assert!(err.is_retryable(), "the caller may retry after re-reading");
    assert_eq!(err.status(), Some(502));
}

#[tokio::test]
async fn create_is_retried_after_429_honouring_retry_after_with_a_fresh_signature() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "1")
                .set_body_json(json!({"status": 429, "message": "slow down"})),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(instance_json()))
        .mount(&server)
        .await;

    let (client, rec) = client_with_recorder(&server.uri(), 3);
    let started = Instant::now();
    let created = client
        .create(&new_instance())
        .await
        .expect("succeeds after 429");
    let waited = started.elapsed();
    assert_eq!(created.uuid.as_deref(), Some("u-1"));
    // Backoff alone is at most 5 ms: only Retry-After explains a wait near one second.
    assert!(
        waited >= Duration::from_millis(950),
        "waited only {waited:?}"
    );
    assert_eq!(
        rec.attempts(),
        vec![(1, Some(429), "create"), (2, Some(200), "create")]
    );

    let reqs = server.received_requests().await.unwrap();
    let ts = |i: usize| {
        reqs[i].headers["X-LLNW-Security-Timestamp"]
            .to_str()
            .unwrap()
            .to_owned()
    };
    assert_ne!(
        ts(0),
        ts(1),
        "each attempt is signed with its own timestamp"
    );
    assert_eq!(reqs[0].body, reqs[1].body, "the same body bytes are resent");
}

#[tokio::test]
async fn rate_limited_error_after_all_retries_is_retryable_and_named() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "0"))
        .expect(2)
        .mount(&server)
        .await;
    let (client, _) = client_with_recorder(&server.uri(), 1);
    let err = client.list("demo", 1, 100).await.expect_err("429 forever");
    assert!(err.is_retryable());
    assert_eq!(err.reason(), "EdgioRateLimited");
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "status": 400, "error": "Bad Request", "message": "invalid instance",
            "errors": [{"field": "body.protocolSets", "message": "must have 1 or 2 entries"}]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let (client, rec) = client_with_recorder(&server.uri(), 4);
    let err = client
        .replace("u-1", &new_instance())
        .await
        .expect_err("400");
    assert!(!err.is_retryable());
    assert_eq!(err.reason(), "EdgioInvalidRule");
    assert_eq!(
        err.to_string(),
        "edgio replace svcinst/delivery/u-1 for demo.s.llnwi.net/fred: 400 Bad Request: \
         invalid instance (body.protocolSets: must have 1 or 2 entries)"
    );
    assert_eq!(rec.attempts().len(), 1);
}

#[tokio::test]
async fn refused_connection_is_retried_even_for_create_then_reported_as_unavailable() {
    // A port nobody listens on: bind, note it, close.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let (client, rec) = client_with_recorder(&format!("http://127.0.0.1:{port}"), 2);
    let err = client
        .create(&new_instance())
        .await
        .expect_err("nothing listens");
    assert!(matches!(err, EdgioError::Transport { .. }), "{err:?}");
    assert!(err.is_retryable());
    assert_eq!(err.status(), None);
    assert_eq!(err.reason(), "ProviderUnavailable");
    assert!(
        err.to_string()
            .starts_with("edgio create svcinst/delivery for demo.s.llnwi.net/fred: no response"),
        "{err}"
    );
    assert_eq!(
        rec.attempts(),
        vec![
            (1, None, "create"),
            (2, None, "create"),
            (3, None, "create")
        ]
    );
}

#[tokio::test]
async fn timed_out_get_is_retried_and_reported_as_retryable() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(instance_json())
                .set_delay(Duration::from_secs(2)),
        )
        .mount(&server)
        .await;
    let mut cfg = config(&server.uri(), 1);
    cfg.timeout = Duration::from_millis(150);
    let err = EdgioClient::new(cfg)
        .unwrap()
        .get("u-1")
        .await
        .expect_err("times out");
    assert!(err.is_retryable(), "{err}");
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn rate_limit_is_shared_by_clones_and_spaces_calls() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "ok"})))
        .mount(&server)
        .await;
    let mut cfg = config(&server.uri(), 0);
    cfg.requests_per_second = 20.0;
    cfg.burst = 1;
    let client = EdgioClient::new(cfg).unwrap();
    let started = Instant::now();
    let calls = (0..6).map(|_| {
        let c = client.clone();
        async move { c.health().await }
    });
    for r in futures::future::join_all(calls).await {
        r.expect("health ok");
    }
    // One token at once, then one per 50 ms: the sixth call starts no earlier than 250 ms.
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(240),
        "6 calls at 20/s took only {took:?}"
    );
}
