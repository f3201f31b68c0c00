//! The controller's Edgio client against the real `edgio-mock` binary over loopback: a full
//! rule lifecycle, paging, the 409 on a duplicate, authentication failures, and faults injected
//! through the admin API (429 bursts, 5xx) that the client must absorb or report.
//! Needs `cargo build -p edgio-mock` first (the Makefile builds every binary before tests).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use e2e::mocks::{LoggedRequest, MockAdmin};
use e2e::procs::{Proc, string_field};
use edgio_ingress::providers::edgio::{
    EdgioClient, EdgioConfig, Instance, InstanceBody, ProtocolOption, ProtocolSet,
};
use edgio_ingress::providers::{CallObserver, CallRecord};
use serde_json::{Value, json};
use tokio::process::Command;

const DEMO_KEY: &str = "00112233445566778899aabbccddeeff";
const OTHER_KEY: &str = "ffeeddccbbaa99887766554433221100";
const HOST: &str = "demo.s.llnwi.net";
/// How long a mock may take to print its start-up line.
const STARTUP: Duration = Duration::from_secs(20);

/// A running edgio-mock (killed on drop), started through the harness's own process plumbing.
struct EdgioMock {
    _proc: Proc,
    /// Holds the mock's log file until the test ends.
    _logs: tempfile::TempDir,
    /// `http://127.0.0.1:PORT` (API and admin listener).
    root: String,
    admin: MockAdmin,
}

impl EdgioMock {
    async fn start(extra_args: &[&str]) -> EdgioMock {
        let bin = e2e::bins::binary("edgio-mock").unwrap_or_else(|e| panic!("{e}"));
        let demo = format!("demo:{DEMO_KEY}:demo");
        let other = format!("other:{OTHER_KEY}:other");
        let mut cmd = Command::new(bin);
        cmd.args(["--listen", "127.0.0.1:0", "--edge-listen", "127.0.0.1:0"])
            .args(["--user", &demo, "--user", &other])
            .args(extra_args)
            .env_remove("EDGIO_MOCK_USERS");
        let logs = tempfile::tempdir().expect("temp dir for the mock's log");
        let mut proc = Proc::spawn("edgio-mock", cmd, logs.path())
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
        let api = proc
            .announcement(STARTUP, |v| string_field(v, &["api"]))
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
        let root = api
            .trim_end_matches('/')
            .trim_end_matches("/config-api/v1")
            .to_owned();
        EdgioMock {
            _proc: proc,
            _logs: logs,
            admin: MockAdmin::new("edgio-mock", &root),
            root,
        }
    }

    fn base_url(&self) -> String {
        format!("{}/config-api/v1", self.root)
    }

    fn client(&self, user: &str, key: &str) -> EdgioClient {
        let mut cfg = EdgioConfig::new(self.base_url(), user, key);
        cfg.initial_backoff = Duration::from_millis(20);
        cfg.max_backoff = Duration::from_millis(200);
        cfg.requests_per_second = 0.0;
        EdgioClient::new(cfg).expect("valid config")
    }

    async fn set_faults(&self, faults: Value) {
        self.admin
            .set_faults(&faults)
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
    }

    async fn logged_requests(&self) -> Vec<LoggedRequest> {
        self.admin
            .requests()
            .await
            .unwrap_or_else(|e| panic!("{e:#}"))
    }

    async fn clear_requests(&self) {
        self.admin
            .clear_requests()
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
    }
}

#[derive(Default)]
struct Recorder(Mutex<Vec<CallRecord>>);

impl CallObserver for Recorder {
    fn observe(&self, call: &CallRecord) {
        if let Ok(mut calls) = self.0.lock() {
            calls.push(call.clone());
        }
    }
}

fn rule(path: &str) -> Instance {
    Instance::new(
        "demo",
        InstanceBody {
            service_profile_name: "LLNW-Generic".into(),
            published_hostname: HOST.into(),
            published_url_path: path.into(),
            source_hostname: "origin.example.com".into(),
            source_url_path: String::new(),
            protocol_sets: vec![ProtocolSet {
                published_protocol: "http".into(),
                source_protocol: "http".into(),
                source_port: Some(30080),
                options: vec![ProtocolOption::req_send_header(
                    "X-Edgio-Ingress",
                    "default/pywai",
                )],
                ..ProtocolSet::default()
            }],
            ..InstanceBody::default()
        },
    )
}

#[tokio::test]
async fn full_rule_lifecycle_against_the_mock() {
    let mock = EdgioMock::start(&[]).await;
    let client = mock.client("demo", DEMO_KEY);
    client.health().await.expect("health check passes");

    // Create.
    let created = client.create(&rule("/fred")).await.expect("create");
    let uuid = created.uuid.clone().expect("server assigns a uuid");
    assert_eq!(created.version(), Some(1));
    assert_eq!(created.account_shortname(), Some("demo"));
    assert_eq!(created.body.published_hostname, HOST);
    assert_eq!(created.body.published_url_path, "/fred");
    assert_eq!(created.body.protocol_sets[0].source_port, Some(30080));
    assert_eq!(
        created.body.protocol_sets[0].options,
        vec![ProtocolOption::req_send_header(
            "X-Edgio-Ingress",
            "default/pywai"
        )]
    );

    // Get.
    let got = client.get(&uuid).await.expect("get").expect("exists");
    assert_eq!(got.body, created.body);
    assert_eq!(got.version(), Some(1));

    // Search with an encoded `/` in the query (signed exactly as sent).
    let found = client
        .search(
            "demo",
            &[("publishedHostname", HOST), ("publishedUrlPath", "/fred")],
        )
        .await
        .expect("search");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].uuid.as_deref(), Some(uuid.as_str()));
    let none = client
        .search(
            "demo",
            &[("publishedHostname", HOST), ("publishedUrlPath", "/nobody")],
        )
        .await
        .expect("search");
    assert!(none.is_empty());

    // Duplicate host+path+protocol → 409 naming the existing rule.
    let dup = client
        .create(&rule("/fred"))
        .await
        .expect_err("duplicate is refused");
    assert!(dup.is_conflict(), "{dup}");
    assert_eq!(dup.reason(), "EdgioConflict");
    let text = dup.to_string();
    assert!(
        text.starts_with("edgio create svcinst/delivery for demo.s.llnwi.net/fred: 409 Conflict: "),
        "{text}"
    );
    assert!(
        text.contains(&uuid),
        "409 message names the colliding uuid: {text}"
    );

    // Replace: revision + 1, change visible on get.
    let mut changed = got.clone();
    changed.body.source_url_path = "/app".into();
    let replaced = client.replace(&uuid, &changed).await.expect("replace");
    assert_eq!(replaced.version(), Some(2));
    assert_eq!(replaced.body.source_url_path, "/app");
    let again = client.get(&uuid).await.expect("get").expect("exists");
    assert_eq!(again.version(), Some(2));
    assert_eq!(again.body.source_url_path, "/app");

    // Delete, then gone.
    assert!(client.delete(&uuid).await.expect("delete"));
    assert!(client.get(&uuid).await.expect("get after delete").is_none());
    assert!(
        !client
            .delete(&uuid)
            .await
            .expect("second delete is not an error")
    );
}

#[tokio::test]
async fn list_pages_through_every_rule_of_the_account() {
    let mock = EdgioMock::start(&[]).await;
    let client = mock.client("demo", DEMO_KEY);
    let mut uuids = Vec::new();
    for i in 0..7 {
        let created = client
            .create(&rule(&format!("/r{i}")))
            .await
            .expect("create");
        uuids.push(created.uuid.expect("uuid"));
    }
    let mut paged = Vec::new();
    for page in 1..=4 {
        let p = client.list("demo", page, 2).await.expect("list");
        assert!(
            p.results.len() <= 2,
            "page {page} has {} results",
            p.results.len()
        );
        if page < 4 {
            assert_eq!(p.results.len(), 2, "page {page} is full");
        } else {
            assert_eq!(p.results.len(), 1, "last page has the remainder");
        }
        if let Some(total) = p.total {
            assert_eq!(total, 7);
        }
        paged.extend(p.results.into_iter().filter_map(|i| i.uuid));
    }
    let mut expected = uuids.clone();
    expected.sort();
    let mut got = paged.clone();
    got.sort();
    assert_eq!(got, expected, "pages cover every rule exactly once");
    assert!(
        client
            .list("demo", 5, 2)
            .await
            .expect("list")
            .results
            .is_empty()
    );

    let all = client.list_all("demo").await.expect("list_all");
    assert_eq!(all.len(), 7);

    // Another account sees none of them.
    let other = mock.client("other", OTHER_KEY);
    assert!(
        other
            .list_all("other")
            .await
            .expect("list other")
            .is_empty()
    );
}

#[tokio::test]
async fn wrong_key_is_unauthorized_and_foreign_account_is_forbidden() {
    let mock = EdgioMock::start(&[]).await;
    let wrong = mock.client("demo", OTHER_KEY);
    let err = wrong.list_all("demo").await.expect_err("wrong key");
    assert_eq!(err.status(), Some(401), "{err}");
    assert_eq!(err.reason(), "EdgioUnauthorized");

    let demo = mock.client("demo", DEMO_KEY);
    let err = demo
        .list_all("other")
        .await
        .expect_err("not demo's account");
    assert_eq!(err.status(), Some(403), "{err}");
    assert_eq!(err.reason(), "EdgioForbidden");
    let mut foreign = rule("/x");
    foreign.accounts[0].shortname = "other".into();
    let err = demo
        .create(&foreign)
        .await
        .expect_err("create in a foreign account");
    assert_eq!(err.status(), Some(403), "{err}");
}

#[tokio::test]
async fn invalid_rule_is_rejected_with_the_servers_reason() {
    let mock = EdgioMock::start(&[]).await;
    let client = mock.client("demo", DEMO_KEY);
    let mut bad = rule("/ip");
    bad.body.published_hostname = "192.0.2.1".into();
    let verdict = client.validate(&bad).await.expect("validate answers");
    assert!(!verdict.success);
    let err = client
        .create(&bad)
        .await
        .expect_err("an IP is not a hostname");
    assert_eq!(err.status(), Some(400), "{err}");
    assert!(!err.is_retryable());
    assert!(err.server_message().is_some_and(|m| !m.is_empty()), "{err}");

    let ok = client
        .validate(&rule("/fine"))
        .await
        .expect("validate answers");
    assert!(ok.success, "{ok:?}");
}

#[tokio::test]
async fn burst_of_429s_is_absorbed_and_each_attempt_is_observed() {
    let mock = EdgioMock::start(&[]).await;
    let rec = Arc::new(Recorder::default());
    let client = mock.client("demo", DEMO_KEY).with_observer(rec.clone());
    let created = client.create(&rule("/burst")).await.expect("create");
    let uuid = created.uuid.expect("uuid");

    mock.clear_requests().await;
    mock.set_faults(json!({"burst_429": 2, "retry_after_secs": 1}))
        .await;
    let got = client
        .get(&uuid)
        .await
        .expect("429s are retried")
        .expect("exists");
    assert_eq!(got.uuid.as_deref(), Some(uuid.as_str()));

    let log = mock.logged_requests().await;
    let statuses: Vec<u16> = log.iter().filter_map(|r| r.status).collect();
    assert_eq!(statuses, [429, 429, 200], "mock saw: {log:?}");
    let observed: Vec<(u32, Option<u16>)> = rec
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|c| c.operation == "get")
        .map(|c| (c.attempt, c.status))
        .collect();
    assert_eq!(observed, [(1, Some(429)), (2, Some(429)), (3, Some(200))]);
}

#[tokio::test]
async fn persistent_server_errors_end_in_a_retryable_error_after_max_retries() {
    let mock = EdgioMock::start(&[]).await;
    let mut cfg = EdgioConfig::new(mock.base_url(), "demo", DEMO_KEY);
    cfg.max_retries = 2;
    cfg.initial_backoff = Duration::from_millis(5);
    cfg.max_backoff = Duration::from_millis(20);
    let client = EdgioClient::new(cfg).expect("config");
    mock.clear_requests().await;
    mock.set_faults(json!({"error_rate": {"GET": 1.0}})).await;
    let err = client
        .get("6f1c2d3e-0000-4000-8000-000000000001")
        .await
        .expect_err("always 5xx");
    assert!(err.is_retryable(), "{err}");
    assert!(err.status().is_some_and(|s| s >= 500), "{err}");
    assert_eq!(
        mock.logged_requests().await.len(),
        3,
        "1 attempt + 2 retries"
    );

    // A create hitting an injected 5xx is not retried (it might have been applied).
    mock.set_faults(json!({"error_rate": {"POST": 1.0}})).await;
    mock.clear_requests().await;
    let err = client.create(&rule("/five")).await.expect_err("5xx");
    assert!(err.status().is_some_and(|s| s >= 500), "{err}");
    assert_eq!(mock.logged_requests().await.len(), 1);
}

#[tokio::test]
async fn burst_429_flag_at_start_up_is_absorbed_by_the_client() {
    let mock = EdgioMock::start(&["--burst-429", "2", "--retry-after", "1"]).await;
    let client = mock.client("demo", DEMO_KEY);
    let started = std::time::Instant::now();
    let all = client
        .list_all("demo")
        .await
        .expect("429s from the flag are retried");
    assert!(all.is_empty());
    let waited = started.elapsed();
    // Two Retry-After: 1 waits; the client's own backoff is at most 200 ms each.
    assert!(
        waited >= Duration::from_millis(1900),
        "Retry-After not honoured: {waited:?}"
    );
    let statuses: Vec<u16> = mock
        .logged_requests()
        .await
        .iter()
        .filter_map(|r| r.status)
        .collect();
    assert_eq!(statuses, [429, 429, 200]);
}
