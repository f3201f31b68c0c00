//! Wire-level conformance: raw HTTP exchanges compared with the recorded kube-apiserver answers
//! (k8s-reference/errors.md, discovery.md, watch.md).

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::{Value, json};

use common::Server;

struct Resp {
    status: u16,
    headers: String,
    body: String,
}

impl Resp {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
    fn header(&self, name: &str) -> Option<String> {
        self.headers.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    }
}

/// One HTTP/1.0 exchange (the server closes the connection, so no chunked decoding is needed).
fn http(srv: &Server, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Resp {
    let addr = srv.url.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let mut req =
        format!("{method} {path} HTTP/1.0\r\nHost: {addr}\r\nUser-Agent: wire-test/1.0\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    s.write_all(req.as_bytes()).expect("write");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Resp {
        status,
        headers: head.to_string(),
        body: body.to_string(),
    }
}

/// A plain GET: no extra headers, no body.
fn get(srv: &Server, path: &str) -> Resp {
    http(srv, "GET", path, &[], "")
}

const JSON: (&str, &str) = ("Content-Type", "application/json");

fn ingress_body(name: &str) -> String {
    json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": name},
        "spec": {"rules": [{"host": "app.example.com", "http": {"paths": [{"path": "/", "pathType": "Prefix",
            "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]}})
    .to_string()
}

#[test]
fn responses_are_compact_json_with_one_newline_and_no_cache_header() {
    let srv = Server::start(&[]);
    let r = get(&srv, "/api");
    assert_eq!(r.status, 200);
    assert!(
        r.body.ends_with("}\n") && !r.body.contains("\n{"),
        "{:?}",
        r.body
    );
    assert_eq!(
        r.header("Cache-Control").as_deref(),
        Some("no-cache, private")
    );
    assert_eq!(
        r.header("Content-Type").as_deref(),
        Some("application/json")
    );
    assert_eq!(r.json()["kind"], "APIVersions");
    assert!(r.json().get("apiVersion").is_none());
}

#[test]
fn unknown_paths_answer_like_kube_apiserver() {
    let srv = Server::start(&[]);
    let r = get(&srv, "/apis/example.com/v1");
    assert_eq!((r.status, r.body.as_str()), (404, "404 page not found\n"));
    assert!(
        r.header("Content-Type")
            .is_some_and(|c| c.starts_with("text/plain"))
    );
    let r = get(
        &srv,
        "/apis/networking.k8s.io/v1/namespaces/default/widgets",
    );
    assert_eq!(r.status, 404);
    assert_eq!(
        r.json()["message"],
        "the server could not find the requested resource"
    );
    assert_eq!(r.json()["details"], json!({}));
    let r = get(&srv, "/no/such/path");
    assert_eq!(r.status, 404);
    assert!(
        r.json()["paths"]
            .as_array()
            .is_some_and(|p| p.contains(&json!("/version")))
    );
    let r = get(&srv, "/readyz");
    assert_eq!((r.status, r.body.as_str()), (200, "ok"));
    let r = http(
        &srv,
        "GET",
        "/api",
        &[(
            "Accept",
            "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
        )],
        "",
    );
    assert_eq!(r.status, 406);
    let r = http(
        &srv,
        "GET",
        "/apis",
        &[(
            "Accept",
            "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json",
        )],
        "",
    );
    assert_eq!(
        (r.status, r.json()["kind"].as_str()),
        (200, Some("APIGroupList"))
    );
}

#[test]
fn error_bodies_match_the_recorded_shapes() {
    let srv = Server::start(&[]);
    let base = "/apis/networking.k8s.io/v1/namespaces/default/ingresses";
    let r = get(&srv, &format!("{base}/nope"));
    assert_eq!(
        r.body,
        "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":\"ingresses.networking.k8s.io \\\"nope\\\" not found\",\"reason\":\"NotFound\",\"details\":{\"name\":\"nope\",\"group\":\"networking.k8s.io\",\"kind\":\"ingresses\"},\"code\":404}\n"
    );
    assert_eq!(
        http(&srv, "POST", base, &[JSON], &ingress_body("web")).status,
        201
    );
    let r = http(&srv, "POST", base, &[JSON], &ingress_body("web"));
    assert_eq!(
        (r.status, r.json()["reason"].as_str()),
        (409, Some("AlreadyExists"))
    );
    for ct in ["text/plain", "application/json"] {
        let r = http(
            &srv,
            "PATCH",
            &format!("{base}/web"),
            &[("Content-Type", ct)],
            "{}",
        );
        assert_eq!(r.status, 415);
        assert_eq!(r.json()["message"], "415: Unsupported Media Type");
        assert_eq!(r.json()["details"], json!({}));
    }
    let r = http(
        &srv,
        "POST",
        &format!("{base}/web"),
        &[JSON],
        &ingress_body("web"),
    );
    assert_eq!(
        (r.status, r.json()["reason"].as_str()),
        (405, Some("MethodNotAllowed"))
    );
    let r = http(
        &srv,
        "GET",
        &format!("{base}/web"),
        &[("Accept", "text/html")],
        "",
    );
    assert_eq!(
        (r.status, r.json()["message"].as_str()),
        (406, Some("406: Not Acceptable"))
    );
    let r = http(
        &srv,
        "POST",
        base,
        &[JSON],
        "{\"apiVersion\": \"networking.k8s.io/v1\", \"kind\": \"Ingress\", \"metadata\": {",
    );
    assert_eq!(r.status, 400);
    assert!(r.json()["message"].as_str().is_some_and(|m| {
        m.starts_with("the object provided is unrecognized (must be of type Ingress)")
    }));
    let svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "mismatch"}})
        .to_string();
    let r = http(&srv, "POST", base, &[JSON], &svc);
    assert_eq!(
        r.json()["message"],
        "Service in version \"v1\" cannot be handled as a Ingress: converting (v1.Service) to (networking.Ingress): unknown conversion"
    );
    let other_ns =
        ingress_body("x").replace("\"name\":\"x\"", "\"name\":\"x\",\"namespace\":\"other\"");
    let r = http(&srv, "POST", base, &[JSON], &other_ns);
    assert_eq!(
        r.json()["message"],
        "the namespace of the provided object does not match the namespace sent on the request"
    );
    assert!(r.json().get("details").is_none());
    let r = http(&srv, "POST", base, &[JSON], &ingress_body("Bad_Name"));
    assert_eq!(r.status, 422);
    assert_eq!(r.json()["details"]["group"], "extensions");
    assert!(r.json()["message"].as_str().is_some_and(|m| {
        m.starts_with("Ingress.extensions \"Bad_Name\" is invalid: metadata.name")
    }));
    let r = http(
        &srv,
        "POST",
        "/apis/networking.k8s.io/v1/namespaces/nope/ingresses",
        &[JSON],
        &ingress_body("x"),
    );
    assert_eq!(
        r.json()["details"],
        json!({"name": "nope", "kind": "namespaces"})
    );
    let r = http(
        &srv,
        "DELETE",
        &format!("{base}/web"),
        &[JSON],
        "{\"kind\":\"DeleteOptions\",\"apiVersion\":\"v1\",\"preconditions\":{\"resourceVersion\":\"1\"}}",
    );
    assert_eq!(r.status, 409);
    assert_eq!(
        r.json()["details"],
        json!({"name": "web", "group": "extensions", "kind": "Ingress"})
    );
    let r = http(&srv, "DELETE", "/api/v1/namespaces/kube-system", &[], "");
    assert_eq!(
        (r.status, r.json()["reason"].as_str()),
        (403, Some("Forbidden"))
    );
    let r = http(
        &srv,
        "GET",
        "/api/v1/namespaces",
        &[("Authorization", "Bearer x")],
        "",
    );
    assert_eq!(
        r.status, 200,
        "no token configured: any credentials are accepted"
    );
}

#[test]
fn list_options_are_validated() {
    let srv = Server::start(&[]);
    let base = "/apis/networking.k8s.io/v1/namespaces/default/ingresses";
    let r = get(&srv, &format!("{base}?resourceVersionMatch=Exact"));
    assert_eq!(r.status, 422);
    assert_eq!(r.json()["details"]["kind"], "ListOptions");
    let r = get(&srv, &format!("{base}?limit=1&continue=garbage"));
    assert_eq!(
        (r.status, r.json()["reason"].as_str()),
        (400, Some("BadRequest"))
    );
    let r = get(&srv, &format!("{base}?resourceVersion=99999999"));
    assert_eq!(
        (r.status, r.json()["reason"].as_str()),
        (504, Some("Timeout"))
    );
    let r = get(&srv, &format!("{base}?labelSelector=app%20in%20pywai"));
    assert_eq!(
        r.json()["message"],
        "unable to parse requirement: found 'pywai' expected: '('"
    );
    let r = get(&srv, base);
    assert_eq!(r.json()["items"], json!([]));
    assert_eq!(r.json()["kind"], "IngressList");
}

#[test]
fn expired_continue_token_is_410_gone() {
    let srv = Server::start(&["--watch-history", "3"]);
    let base = "/api/v1/namespaces/default/configmaps";
    for i in 0..3 {
        let body =
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": format!("c{i}")}})
                .to_string();
        assert_eq!(http(&srv, "POST", base, &[JSON], &body).status, 201);
    }
    let page = get(&srv, &format!("{base}?limit=1")).json();
    let token = page["metadata"]["continue"]
        .as_str()
        .expect("token")
        .to_string();
    for i in 3..8 {
        let body =
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": format!("c{i}")}})
                .to_string();
        http(&srv, "POST", base, &[JSON], &body);
    }
    let r = get(&srv, &format!("{base}?limit=1&continue={token}"));
    assert_eq!(
        (r.status, r.json()["reason"].as_str()),
        (410, Some("Expired"))
    );
}

#[test]
fn watch_stream_is_one_json_event_per_line_and_ends_at_timeout() {
    let srv = Server::start(&[]);
    let base = "/apis/networking.k8s.io/v1/namespaces/default/ingresses";
    assert_eq!(
        http(&srv, "POST", base, &[JSON], &ingress_body("w1")).status,
        201
    );
    let r = http(
        &srv,
        "PATCH",
        &format!("{base}/w1"),
        &[("Content-Type", "application/merge-patch+json")],
        "{\"metadata\":{\"labels\":{\"tier\":\"edge\"}}}",
    );
    let rv = r.json()["metadata"]["resourceVersion"]
        .as_str()
        .expect("rv")
        .to_string();
    let same = http(
        &srv,
        "PATCH",
        &format!("{base}/w1"),
        &[("Content-Type", "application/merge-patch+json")],
        "{\"metadata\":{\"labels\":{\"tier\":\"edge\"}}}",
    );
    assert_eq!(
        same.json()["metadata"]["resourceVersion"],
        rv.as_str(),
        "no-op patch keeps the version"
    );
    assert_eq!(
        http(&srv, "DELETE", &format!("{base}/w1"), &[], "").json()["status"],
        "Success"
    );
    let r = get(
        &srv,
        &format!("{base}?watch=1&resourceVersion=1&timeoutSeconds=1"),
    );
    assert_eq!(r.status, 200);
    let kinds: Vec<String> = r
        .body
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).expect("each line is one JSON event")["type"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect();
    assert_eq!(
        kinds,
        ["ADDED", "MODIFIED", "DELETED"],
        "replay from history; nothing for the no-op"
    );
    let r = get(
        &srv,
        &format!("{base}?watch=1&fieldSelector=spec.rules%3Dx"),
    );
    assert_eq!(
        r.status, 400,
        "bad selector refused before the stream starts"
    );
}

#[test]
fn hostile_requests_get_errors_and_the_server_keeps_serving() {
    let srv = Server::start(&[]);
    let cm = "/api/v1/namespaces/default/configmaps";
    let cases: &[(&str, String, &str, &str)] = &[
        (
            "GET",
            "/api/v1/namespaces/%00/configmaps/%2F..%2F".into(),
            "",
            "",
        ),
        ("GET", "//api//v1//".into(), "", ""),
        (
            "GET",
            format!("/api/v1/namespaces/default/configmaps/{}", "a".repeat(5000)),
            "",
            "",
        ),
        ("POST", cm.into(), "application/json", "null"),
        ("POST", cm.into(), "application/json", "[]"),
        (
            "POST",
            cm.into(),
            "application/json",
            "{\"metadata\": \"x\"}",
        ),
        (
            "POST",
            cm.into(),
            "application/json",
            "{\"metadata\": {\"name\": 5}}",
        ),
        (
            "POST",
            cm.into(),
            "application/json",
            &format!("{}1{}", "[".repeat(10000), "]".repeat(10000)),
        ),
        (
            "POST",
            cm.into(),
            "application/json",
            "{\"metadata\": {\"name\": \"a/b\"}}",
        ),
        (
            "POST",
            cm.into(),
            "application/json",
            "{\"metadata\": {\"name\": \"\u{00e9}\"}}",
        ),
        (
            "PATCH",
            format!("{cm}/x"),
            "application/apply-patch+yaml",
            "a: [unclosed",
        ),
        (
            "PATCH",
            format!("{cm}/x"),
            "application/apply-patch+yaml",
            "- 1\n- 2\n",
        ),
        (
            "PATCH",
            format!("{cm}/x"),
            "application/json-patch+json",
            "[{\"op\": \"move\", \"from\": \"/a\", \"path\": \"/a/b\"}]",
        ),
        (
            "PATCH",
            format!("{cm}/x"),
            "application/strategic-merge-patch+json",
            "{\"metadata\": {\"finalizers\": {\"$patch\": \"delete\"}}}",
        ),
        (
            "GET",
            format!("{cm}?labelSelector=%28%28%28&fieldSelector=%3D%3D%3D"),
            "",
            "",
        ),
        ("GET", format!("{cm}?watch=1&resourceVersion=abc"), "", ""),
        ("GET", format!("{cm}?limit=-1&continue=%ZZ"), "", ""),
        (
            "DELETE",
            format!("{cm}/x"),
            "application/json",
            "{\"preconditions\": 7}",
        ),
        (
            "PUT",
            "/api/v1/namespaces/default/services/kubernetes/status".into(),
            "application/json",
            "{\"spec\": 1}",
        ),
        (
            "POST",
            "/api/v1/namespaces/default/events".into(),
            "application/json",
            "{\"apiVersion\":\"v1\",\"kind\":\"Event\",\"metadata\":{\"name\":\"e\"},\"eventTime\":\"\u{00e9}\u{00e9}\u{00e9}\u{00e9}\u{00e9}\u{00e9}\u{00e9}\u{00e9}\u{00e9}\u{00e9}\u{00e9}\"}",
        ),
    ];
    let cm_body =
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}).to_string();
    assert_eq!(http(&srv, "POST", cm, &[JSON], &cm_body).status, 201);
    for (method, path, ct, body) in cases {
        let headers: Vec<(&str, &str)> = if ct.is_empty() {
            vec![]
        } else {
            vec![("Content-Type", ct)]
        };
        let r = http(&srv, method, path, &headers, body);
        assert!(
            (200..600).contains(&r.status),
            "{method} {path}: no HTTP answer"
        );
        assert!(r.status != 500, "{method} {path} {body}: {}", r.body);
    }
    let r = get(&srv, "/api/v1/namespaces/default/configmaps/x");
    assert_eq!(r.status, 200, "still serving");
}

#[test]
fn humans_get_indented_json() {
    let srv = Server::start(&[]);
    let r = get(&srv, "/version");
    assert!(r.body.starts_with("{\n  \""), "{}", r.body);
    let r = get(&srv, "/api/v1/namespaces/default?pretty=true");
    assert!(r.body.contains("\n  \"metadata\": {"), "{}", r.body);
    assert_eq!(r.json()["metadata"]["name"], "default");
    let r = get(&srv, "/api/v1/namespaces/default");
    assert!(!r.body.trim_end().contains('\n'), "compact for libraries");
}

#[test]
fn later_pages_are_read_at_the_first_page_revision() {
    let srv = Server::start(&[]);
    let base = "/api/v1/namespaces/default/configmaps";
    for n in ["a", "b", "c"] {
        let body =
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": n}}).to_string();
        assert_eq!(http(&srv, "POST", base, &[JSON], &body).status, 201);
    }
    let page1 = get(&srv, &format!("{base}?limit=2")).json();
    let token = page1["metadata"]["continue"]
        .as_str()
        .expect("token")
        .to_string();
    let rv = page1["metadata"]["resourceVersion"]
        .as_str()
        .expect("rv")
        .to_string();
    let r = http(
        &srv,
        "PATCH",
        &format!("{base}/c"),
        &[("Content-Type", "application/merge-patch+json")],
        "{\"metadata\":{\"labels\":{\"changed\":\"between-pages\"}}}",
    );
    assert_eq!(r.status, 200);
    let page2 = get(&srv, &format!("{base}?limit=2&continue={token}")).json();
    assert_eq!(page2["metadata"]["resourceVersion"], rv.as_str());
    assert_eq!(page2["items"][0]["metadata"]["name"], "c");
    assert!(
        page2["items"][0]["metadata"].get("labels").is_none(),
        "c as it was at the snapshot"
    );
    let exact = get(
        &srv,
        &format!("{base}?resourceVersion={rv}&resourceVersionMatch=Exact"),
    )
    .json();
    assert_eq!(exact["items"].as_array().map(Vec::len), Some(3));
    assert!(exact["items"][2]["metadata"].get("labels").is_none());
}
