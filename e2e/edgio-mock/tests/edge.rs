//! The CDN edge of the real binary: rule matching, DNS resolution through a test DNS server,
//! proxying to header-echoing origins, and its error answers.

mod common;

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use common::*;
use serde_json::{Value, json};

const HOST: &str = "demo.s.llnwi.net";
const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn edge_mock(dns: &TestDns, extra: &[&str]) -> Mock {
    let dns_arg = dns.addr.to_string();
    let mut args = vec!["--dns-server", dns_arg.as_str()];
    args.extend_from_slice(extra);
    Mock::start(&args)
}

async fn create(mock: &Mock, doc: &Value) -> String {
    let r = Client::demo()
        .post_json(&mock.api_url("svcinst/delivery"), doc)
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    r.json["uuid"].as_str().unwrap().to_string()
}

struct EdgeReply {
    status: u16,
    headers: reqwest::header::HeaderMap,
    json: Value,
}

async fn edge_get(mock: &Mock, host: &str, path: &str) -> EdgeReply {
    edge_send(mock, reqwest::Method::GET, host, path, &[], None).await
}

async fn edge_send(
    mock: &Mock,
    method: reqwest::Method,
    host: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> EdgeReply {
    let mut req = reqwest::Client::new()
        .request(method, format!("{}{path}", mock.edge))
        .header("host", host);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some(b) = body {
        req = req.body(b.to_string());
    }
    let resp = req.send().await.expect("edge answers");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
    EdgeReply {
        status,
        headers,
        json,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edge_routes_the_longest_prefix_to_an_origin_found_through_dns() {
    let dns = TestDns::start();
    let root = start_origin("127.0.0.1:0".parse().unwrap(), "root")
        .await
        .unwrap();
    let fred = start_origin("127.0.0.1:0".parse().unwrap(), "fred")
        .await
        .unwrap();
    dns.set("root-origin.example.com", &[LOCAL]);
    dns.set("fred-origin.example.com", &[LOCAL]);
    let mock = edge_mock(&dns, &[]);

    let root_uuid = create(
        &mock,
        &instance_doc("demo", HOST, "/", "root-origin.example.com", root.port()),
    )
    .await;
    let mut doc = instance_doc(
        "demo",
        HOST,
        "/fred",
        "fred-origin.example.com",
        fred.port(),
    );
    doc["body"]["sourceUrlPath"] = json!("/api");
    doc["body"]["protocolSets"][0]["options"] = json!([
        {"name": "req_send_header", "parameters": ["X-Rule", "fred"]},
        {"name": "reply_send_header", "parameters": ["X-Served-By", "edge-test"]}
    ]);
    let fred_uuid = create(&mock, &doc).await;

    let r = edge_send(
        &mock,
        reqwest::Method::GET,
        HOST,
        "/fred/x?q=1&r=%2F",
        &[
            ("x-forwarded-for", "10.9.8.7"),
            ("connection", "keep-alive, x-hop"),
            ("x-hop", "drop me"),
        ],
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["origin"], "fred");
    assert_eq!(
        r.json["path"], "/api/x?q=1&r=%2F",
        "prefix replaced, query kept raw"
    );
    let h = &r.json["headers"];
    assert_eq!(h["host"], "fred-origin.example.com");
    assert_eq!(h["x-forwarded-for"], "10.9.8.7, 127.0.0.1");
    assert_eq!(h["x-forwarded-host"], HOST);
    assert!(h["via"].as_str().unwrap().contains("edgio-mock"), "{h}");
    assert_eq!(h["x-rule"], "fred");
    assert!(
        h.get("x-hop").is_none(),
        "Connection-named headers are not forwarded: {h}"
    );
    assert_eq!(r.headers["x-served-by"], "edge-test");
    assert!(r.headers["via"].to_str().unwrap().contains("edgio-mock"));
    assert_eq!(r.headers["x-origin"], "fred");
    assert!(
        r.headers.get("x-origin-private").is_none(),
        "hop-by-hop reply header stripped"
    );

    // A path the longer prefix does not cover falls back to "/", and the path is kept as is.
    let r = edge_get(&mock, "DEMO.s.llnwi.net.", "/other/page").await;
    assert_eq!(r.json["origin"], "root");
    assert_eq!(r.json["path"], "/other/page");
    assert_eq!(r.json["headers"]["x-forwarded-for"], "127.0.0.1");
    assert!(r.json["headers"].get("x-rule").is_none());

    // Bodies are streamed to the origin.
    let r = edge_send(
        &mock,
        reqwest::Method::POST,
        HOST,
        "/fred",
        &[],
        Some("hello origin"),
    )
    .await;
    assert_eq!(r.json["method"], "POST");
    assert_eq!(r.json["path"], "/api");
    assert_eq!(r.json["body"], "hello origin");

    // The access log names the rule and the origin address.
    wait_for("edge access log lines", Duration::from_secs(10), || async {
        let lines = mock.stdout_lines();
        let has = |uuid: &str, port: u16| {
            lines.iter().any(|l| {
                let v: Value = serde_json::from_str(l).unwrap_or(Value::Null);
                v["listener"] == "edge"
                    && v["rule"] == uuid
                    && v["origin"] == format!("127.0.0.1:{port}")
                    && v["status"] == 200
                    && v["bytes"].as_u64().unwrap_or(0) > 0
                    && v["client"] == "127.0.0.1"
            })
        };
        has(&fred_uuid, fred.port()) && has(&root_uuid, root.port())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_host_and_unmatched_path_get_404_naming_them() {
    let dns = TestDns::start();
    let mock = edge_mock(&dns, &[]);
    create(
        &mock,
        &instance_doc("demo", HOST, "/fred", "origin.example.com", 80),
    )
    .await;

    let r = edge_get(&mock, "nobody.example.com", "/fred").await;
    assert_eq!(r.status, 404);
    assert!(
        r.json["message"]
            .as_str()
            .unwrap()
            .contains("nobody.example.com"),
        "{}",
        r.json
    );
    let r = edge_get(&mock, HOST, "/bob").await;
    assert_eq!(r.status, 404);
    let msg = r.json["message"].as_str().unwrap();
    assert!(
        msg.contains("/bob") && msg.contains(HOST) && msg.contains("/fred"),
        "{msg}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_origin_and_failed_dns_get_502_naming_the_origin() {
    let dns = TestDns::start();
    // A port that was just free: nothing listens there.
    let dead_port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    dns.set("dead-origin.example.com", &[LOCAL]);
    let mock = edge_mock(&dns, &[]);
    create(
        &mock,
        &instance_doc("demo", HOST, "/dead", "dead-origin.example.com", dead_port),
    )
    .await;
    create(
        &mock,
        &instance_doc("demo", HOST, "/nxdomain", "missing-origin.example.com", 80),
    )
    .await;

    let r = edge_get(&mock, HOST, "/dead/x").await;
    assert_eq!(r.status, 502, "{}", r.json);
    let msg = r.json["message"].as_str().unwrap();
    assert!(
        msg.contains(&format!("dead-origin.example.com:{dead_port}")),
        "{msg}"
    );
    assert_eq!(r.json["origin"]["port"], dead_port);

    let r = edge_get(&mock, HOST, "/nxdomain").await;
    assert_eq!(r.status, 502, "{}", r.json);
    let msg = r.json["message"].as_str().unwrap();
    assert!(msg.contains("missing-origin.example.com:80"), "{msg}");
    assert!(
        msg.contains(&dns.addr.to_string()),
        "names the DNS server: {msg}"
    );
    assert!(
        mock.stderr().contains("missing-origin.example.com"),
        "errors go to stderr"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edge_rotates_over_a_and_aaaa_answers_and_follows_a_changed_record() {
    let v4 = start_origin("127.0.0.1:0".parse().unwrap(), "v4")
        .await
        .unwrap();
    let v6_addr = SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), v4.port());
    if start_origin(v6_addr, "v6").await.is_err() {
        eprintln!(
            "skipping: cannot listen on [::1]:{} (no IPv6 loopback here)",
            v4.port()
        );
        return;
    }
    let dns = TestDns::start();
    dns.set("rr-origin.example.com", &[LOCAL]);
    let mock = edge_mock(&dns, &[]);
    create(
        &mock,
        &instance_doc("demo", HOST, "/", "rr-origin.example.com", v4.port()),
    )
    .await;

    assert_eq!(edge_get(&mock, HOST, "/").await.json["origin"], "v4");

    // The record changes: the edge must follow within its one-second cache bound.
    dns.set("rr-origin.example.com", &[IpAddr::V6(Ipv6Addr::LOCALHOST)]);
    wait_for(
        "the edge to follow the changed DNS record",
        Duration::from_secs(10),
        || async { edge_get(&mock, HOST, "/").await.json["origin"] == "v6" },
    )
    .await;

    // Both answers: consecutive requests alternate between them.
    dns.set(
        "rr-origin.example.com",
        &[LOCAL, IpAddr::V6(Ipv6Addr::LOCALHOST)],
    );
    wait_for(
        "both origins to be served in rotation",
        Duration::from_secs(10),
        || async {
            let a = edge_get(&mock, HOST, "/").await.json["origin"].clone();
            let b = edge_get(&mock, HOST, "/").await.json["origin"].clone();
            a != b
        },
    )
    .await;
    let mut seen = Vec::new();
    for _ in 0..4 {
        seen.push(
            edge_get(&mock, HOST, "/").await.json["origin"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    assert!(
        seen.windows(2).all(|w| w[0] != w[1]),
        "round robin alternates: {seen:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processing_and_disabled_rules_are_not_served() {
    let origin = start_origin("127.0.0.1:0".parse().unwrap(), "o")
        .await
        .unwrap();
    let dns = TestDns::start();
    dns.set("origin.example.com", &[LOCAL]);
    let mock = edge_mock(&dns, &["--processing-seconds", "2"]);
    let uuid = create(
        &mock,
        &instance_doc("demo", HOST, "/fred", "origin.example.com", origin.port()),
    )
    .await;
    assert_eq!(
        edge_get(&mock, HOST, "/fred").await.status,
        404,
        "PROCESSING is not live yet"
    );
    wait_for("the rule to go live", Duration::from_secs(10), || async {
        edge_get(&mock, HOST, "/fred").await.status == 200
    })
    .await;

    let c = Client::demo();
    let one = mock.api_url(&format!("svcinst/delivery/{uuid}"));
    let mut inst = c.get(&one).await.json;
    inst["isEnabled"] = json!(false);
    let r = c.put_json(&one, &inst).await;
    assert_eq!(r.json["isEnabled"], false);
    // The replaced revision is PROCESSING for two seconds, and disabled after that: never served.
    wait_for(
        "the disabled revision to complete",
        Duration::from_secs(10),
        || async { c.get(&one).await.json["status"]["state"] == "COMPLETED" },
    )
    .await;
    assert_eq!(edge_get(&mock, HOST, "/fred").await.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn origin_that_never_answers_gets_504() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    // Accept and hold connections without answering.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        while let Ok((s, _)) = silent.accept() {
            held.push(s);
        }
    });
    let dns = TestDns::start();
    dns.set("slow-origin.example.com", &[LOCAL]);
    let mock = edge_mock(&dns, &["--origin-timeout-secs", "0.5"]);
    create(
        &mock,
        &instance_doc("demo", HOST, "/", "slow-origin.example.com", port),
    )
    .await;
    let r = edge_get(&mock, HOST, "/slow").await;
    assert_eq!(r.status, 504, "{}", r.json);
    assert!(
        r.json["message"]
            .as_str()
            .unwrap()
            .contains("slow-origin.example.com")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_edge_input_gets_errors_and_the_edge_keeps_serving() {
    let origin = start_origin("127.0.0.1:0".parse().unwrap(), "o")
        .await
        .unwrap();
    let dns = TestDns::start();
    dns.set("origin.example.com", &[LOCAL]);
    let mock = edge_mock(&dns, &[]);
    create(
        &mock,
        &instance_doc("demo", HOST, "/", "origin.example.com", origin.port()),
    )
    .await;
    let addr = mock.edge.trim_start_matches("http://").to_string();

    for payload in [
        b"\x16\x03\x01\x02\x00garbage-tls-hello\r\n\r\n".to_vec(),
        format!(
            "GET / HTTP/1.1\r\nHost: {HOST}\r\nX-Big: {}\r\n\r\n",
            "b".repeat(300_000)
        )
        .into_bytes(),
        b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n".to_vec(),
    ] {
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let _ = s.write_all(&payload);
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        let text = String::from_utf8_lossy(&out);
        assert!(
            out.is_empty() || text.starts_with("HTTP/1.1 4"),
            "expected a 4xx or a closed connection, got {text}"
        );
    }
    let r = edge_get(&mock, HOST, "/still-alive").await;
    assert_eq!(r.status, 200);
    assert!(!mock.stderr().contains("panicked"));
}
