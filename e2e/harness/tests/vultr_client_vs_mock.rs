//! The controller's Vultr client against the real `vultr-mock` binary over loopback: domains,
//! a round-robin A set and an ownership TXT record, PATCH, delete, cursor pagination over more
//! than 1,000 records, and 429s (rate limit and injected bursts) that never reach the caller.
//! Needs `cargo build -p vultr-mock` first (the Makefile builds every binary before tests).

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::Duration;

use e2e::mocks::{LoggedRequest, MockAdmin};
use e2e::procs::{Proc, string_field};
use edgio_ingress::providers::vultr::{NewRecord, RecordPatch, VultrClient, VultrConfig};
use futures::StreamExt;
use serde_json::{Value, json};
use tokio::process::Command;

const KEY: &str = "demo-vultr-key";
const ZONE: &str = "example.com";
/// How long a mock may take to print its start-up line.
const STARTUP: Duration = Duration::from_secs(20);

/// A running vultr-mock (killed on drop), started through the harness's own process plumbing.
struct VultrMock {
    _proc: Proc,
    /// Holds the mock's log file until the test ends.
    _logs: tempfile::TempDir,
    /// `http://127.0.0.1:PORT` (API under `/v2`, admin under `/__admin`).
    root: String,
    admin: MockAdmin,
}

impl VultrMock {
    async fn start(extra_args: &[&str]) -> VultrMock {
        let bin = e2e::bins::binary("vultr-mock").unwrap_or_else(|e| panic!("{e}"));
        let mut cmd = Command::new(bin);
        cmd.args([
            "--listen",
            "127.0.0.1:0",
            "--dns-listen",
            "127.0.0.1:0",
            "--api-key",
            KEY,
        ])
        .args(extra_args)
        .env_remove("VULTR_MOCK_API_KEYS")
        .env_remove("VULTR_MOCK_DOMAINS");
        let logs = tempfile::tempdir().expect("temp dir for the mock's log");
        let mut proc = Proc::spawn("vultr-mock", cmd, logs.path())
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
        let api = proc
            .announcement(STARTUP, |v| string_field(v, &["api"]))
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
        let root = api.trim_end_matches('/').trim_end_matches("/v2").to_owned();
        VultrMock {
            _proc: proc,
            _logs: logs,
            admin: MockAdmin::new("vultr-mock", &root),
            root,
        }
    }

    /// A client without its own rate limit, so tests decide how hard they push.
    fn client(&self) -> VultrClient {
        let mut cfg = VultrConfig::new(format!("{}/v2", self.root), KEY);
        cfg.requests_per_second = 0.0;
        cfg.initial_backoff = Duration::from_millis(20);
        cfg.max_backoff = Duration::from_millis(200);
        VultrClient::new(cfg).expect("valid config")
    }

    async fn set_faults(&self, faults: Value) {
        self.admin
            .set_faults(&faults)
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
    }

    async fn logged_statuses(&self) -> Vec<u16> {
        self.logged_requests()
            .await
            .iter()
            .filter_map(|r| r.status)
            .collect()
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

const OWNER_TXT: &str =
    "heritage=edgio-ingress,edgio-ingress/owner=test,edgio-ingress/resource=ingress/default/web";

#[tokio::test]
async fn domain_and_record_lifecycle_against_the_mock() {
    let mock = VultrMock::start(&["--rate-limit", "0"]).await;
    let c = mock.client();

    assert!(c.get_domain(ZONE).await.expect("get_domain").is_none());
    let d = c.create_domain(ZONE, None).await.expect("create_domain");
    assert_eq!(d.domain, ZONE);
    assert!(c.get_domain(ZONE).await.expect("get_domain").is_some());
    assert!(
        c.list_domains()
            .await
            .expect("list_domains")
            .iter()
            .any(|d| d.domain == ZONE)
    );
    assert!(
        c.list_records(ZONE).await.expect("list").is_empty(),
        "no ip → empty zone"
    );

    // Round-robin A set: one record per address, same name and TTL.
    let ips = ["192.0.2.10", "192.0.2.11", "192.0.2.12"];
    let mut ids = Vec::new();
    for ip in ips {
        let r = c
            .create_record(ZONE, &NewRecord::new("origin", "A", ip).with_ttl(60))
            .await
            .expect("create A");
        assert_eq!(
            (r.name.as_str(), r.record_type.as_str(), r.ttl, r.priority),
            ("origin", "A", 60, -1)
        );
        ids.push(r.id);
    }
    let txt = c
        .create_record(
            ZONE,
            &NewRecord::new("origin", "TXT", OWNER_TXT).with_ttl(60),
        )
        .await
        .expect("create TXT");
    assert_eq!(txt.data, OWNER_TXT, "TXT comes back unquoted");

    let records = c.list_records(ZONE).await.expect("list");
    let a_set: BTreeSet<&str> = records
        .iter()
        .filter(|r| r.name == "origin" && r.record_type == "A")
        .map(|r| r.data.as_str())
        .collect();
    assert_eq!(a_set, ips.into_iter().collect());
    let txts: Vec<&str> = records
        .iter()
        .filter(|r| r.record_type == "TXT")
        .map(|r| r.data.as_str())
        .collect();
    assert_eq!(txts, [OWNER_TXT]);

    // A different TTL in the same set is refused with Vultr's message.
    let err = c
        .create_record(
            ZONE,
            &NewRecord::new("origin", "A", "192.0.2.13").with_ttl(120),
        )
        .await
        .expect_err("mixed TTL");
    assert_eq!(err.status(), Some(400), "{err}");
    assert!(err.server_message().is_some_and(|m| !m.is_empty()), "{err}");
    // So is an exact duplicate.
    let err = c
        .create_record(
            ZONE,
            &NewRecord::new("origin", "A", "192.0.2.10").with_ttl(60),
        )
        .await
        .expect_err("duplicate");
    assert_eq!(err.status(), Some(400), "{err}");

    // PATCH one A record's data; the others are untouched.
    let patch = RecordPatch {
        data: Some("192.0.2.20".into()),
        ..RecordPatch::default()
    };
    c.update_record(ZONE, &ids[0], &patch)
        .await
        .expect("patch A");
    let r0 = c
        .get_record(ZONE, &ids[0])
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(
        (r0.data.as_str(), r0.name.as_str(), r0.ttl),
        ("192.0.2.20", "origin", 60)
    );

    // PATCH the TXT with raw text: the client quotes it, the read unquotes it.
    let new_owner = OWNER_TXT.replace("owner=test", "owner=other");
    let mut txt_patch = RecordPatch::for_record(&txt);
    txt_patch.data = Some(new_owner.clone());
    c.update_record(ZONE, &txt.id, &txt_patch)
        .await
        .expect("patch TXT");
    let t = c
        .get_record(ZONE, &txt.id)
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(t.data, new_owner);

    // Delete, then gone.
    assert!(c.delete_record(ZONE, &ids[2]).await.expect("delete"));
    assert!(c.get_record(ZONE, &ids[2]).await.expect("get").is_none());
    assert!(
        !c.delete_record(ZONE, &ids[2])
            .await
            .expect("second delete is not an error")
    );
    assert_eq!(
        c.list_records(ZONE)
            .await
            .expect("list")
            .iter()
            .filter(|r| r.record_type == "A")
            .count(),
        2
    );

    assert!(c.delete_domain(ZONE).await.expect("delete_domain"));
    assert!(c.get_domain(ZONE).await.expect("get_domain").is_none());
    assert!(!c.delete_domain(ZONE).await.expect("already gone"));
}

#[tokio::test]
async fn domain_created_with_ip_comes_with_seeded_records() {
    let mock = VultrMock::start(&["--rate-limit", "0"]).await;
    let c = mock.client();
    let ip: IpAddr = "192.0.2.1".parse().expect("ip");
    c.create_domain(ZONE, Some(ip))
        .await
        .expect("create_domain");
    let records = c.list_records(ZONE).await.expect("list");
    let apex_a: Vec<&str> = records
        .iter()
        .filter(|r| r.name.is_empty() && r.record_type == "A")
        .map(|r| r.data.as_str())
        .collect();
    assert_eq!(apex_a, ["192.0.2.1"]);
    assert!(
        records
            .iter()
            .any(|r| r.name == "*" && r.record_type == "CNAME")
    );
    assert!(
        records
            .iter()
            .any(|r| r.name.is_empty() && r.record_type == "NS")
    );
}

#[tokio::test]
async fn list_records_pages_over_more_than_1000_records() {
    let mock = VultrMock::start(&["--rate-limit", "0", "--domain", ZONE]).await;
    let c = mock.client();
    let n = 1_050usize;
    let results: Vec<_> = futures::stream::iter(0..n)
        .map(|i| {
            let c = c.clone();
            async move {
                let ip = format!("10.0.{}.{}", i / 250, i % 250 + 1);
                c.create_record(
                    ZONE,
                    &NewRecord::new(format!("host-{i}"), "A", ip).with_ttl(300),
                )
                .await
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    for r in results {
        r.expect("create");
    }

    mock.clear_requests().await;
    let records = c.list_records(ZONE).await.expect("list");
    let names: BTreeSet<String> = records
        .iter()
        .filter(|r| r.name.starts_with("host-"))
        .map(|r| r.name.clone())
        .collect();
    assert_eq!(
        names.len(),
        n,
        "every record listed exactly once across pages"
    );
    assert_eq!(records.len(), n, "no duplicates across pages");

    let log = mock.logged_requests().await;
    assert_eq!(
        log.len(),
        3,
        "1,050 records at 500 per page is 3 calls: {log:?}"
    );
    let queries: Vec<&str> = log
        .iter()
        .map(|r| r.query.as_deref().unwrap_or(""))
        .collect();
    assert!(
        queries.iter().all(|q| q.contains("per_page=500")),
        "{queries:?}"
    );
    assert!(
        queries[1..].iter().all(|q| q.contains("cursor=")),
        "{queries:?}"
    );
}

#[tokio::test]
async fn injected_429_burst_is_retried_without_failing_the_caller() {
    let mock = VultrMock::start(&["--rate-limit", "0", "--domain", ZONE]).await;
    let c = mock.client();
    mock.clear_requests().await;
    mock.set_faults(json!({"burst_429": 3, "retry_after_secs": 1}))
        .await;
    let r = c
        .create_record(ZONE, &NewRecord::new("origin", "A", "192.0.2.10"))
        .await
        .expect("429s are absorbed, even for a create");
    assert_eq!(r.data, "192.0.2.10");
    assert_eq!(mock.logged_statuses().await, [429, 429, 429, 201]);
}

#[tokio::test]
async fn low_server_rate_limit_slows_the_client_but_every_call_succeeds() {
    let mock = VultrMock::start(&["--rate-limit", "5", "--domain", ZONE]).await;
    // The default client (20/s) is faster than this server allows: it must lean on Retry-After.
    let mut cfg = VultrConfig::new(format!("{}/v2", mock.root), KEY);
    cfg.initial_backoff = Duration::from_millis(50);
    cfg.max_retries = 8;
    let c = VultrClient::new(cfg).expect("config");
    for i in 0..15 {
        c.create_record(ZONE, &NewRecord::new(format!("h{i}"), "A", "192.0.2.1"))
            .await
            .unwrap_or_else(|e| panic!("call {i} failed: {e}"));
    }
    assert_eq!(c.list_records(ZONE).await.expect("list").len(), 15);
    let statuses = mock.logged_statuses().await;
    assert!(
        statuses.contains(&429),
        "the server did push back: {statuses:?}"
    );
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 15);
}

#[tokio::test]
async fn wrong_api_key_is_unauthorized() {
    let mock = VultrMock::start(&["--rate-limit", "0"]).await;
    let mut cfg = VultrConfig::new(format!("{}/v2", mock.root), "not-the-key");
    cfg.requests_per_second = 0.0;
    let err = VultrClient::new(cfg)
        .expect("config")
        .list_domains()
        .await
        .expect_err("401");
    assert_eq!(err.status(), Some(401), "{err}");
    assert_eq!(err.reason(), "VultrUnauthorized");
    assert!(err.server_message().is_some_and(|m| !m.is_empty()), "{err}");
}
