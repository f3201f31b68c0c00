//! Pins the Edgio client's exact wire format against a wiremock server: method, path, raw query,
//! body bytes, the three X-LLNW-Security-* headers (token recomputed here from the spec's
//! formula), content type, paging, unknown-field round trips and error messages.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use edgio_ingress::providers::edgio::{
    Account, EdgioClient, EdgioConfig, EdgioError, Instance, InstanceBody, InstanceStatus,
    ProtocolOption, ProtocolSet, Revision,
};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const KEY_HEX: &str = "00112233445566778899aabbccddeeff";
const API: &str = "/config-api/v1";

fn client(server: &MockServer) -> EdgioClient {
    // Trailing slash on purpose: the client must not send `//svcinst`.
    let mut cfg = EdgioConfig::new(format!("{}{API}/", server.uri()), "demo", KEY_HEX);
    cfg.requests_per_second = 0.0;
    cfg.initial_backoff = Duration::from_millis(1);
    cfg.max_backoff = Duration::from_millis(5);
    EdgioClient::new(cfg).expect("valid config")
}

fn header<'a>(req: &'a Request, name: &str) -> &'a str {
    req.headers
        .get(name)
        .unwrap_or_else(|| panic!("missing header {name}"))
        .to_str()
        .expect("ascii header")
}

/// The spec's formula, computed independently of the client:
/// HMAC-SHA256(hex-decoded key, METHOD + URL_WITHOUT_QUERY + RAW_QUERY + TIMESTAMP_MS + RAW_BODY).
fn spec_token(server: &MockServer, req: &Request) -> String {
    let key = hex::decode(KEY_HEX).unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    let url_without_query = format!("{}{}", server.uri(), req.url.path());
    mac.update(req.method.as_str().as_bytes());
    mac.update(url_without_query.as_bytes());
    mac.update(req.url.query().unwrap_or("").as_bytes());
    mac.update(header(req, "X-LLNW-Security-Timestamp").as_bytes());
    mac.update(&req.body);
    hex::encode(mac.finalize().into_bytes())
}

/// Principal, a fresh millisecond timestamp, and a token matching the bytes received.
fn assert_signed(server: &MockServer, req: &Request) {
    assert_eq!(header(req, "X-LLNW-Security-Principal"), "demo");
    let ts: u64 = header(req, "X-LLNW-Security-Timestamp")
        .parse()
        .expect("decimal timestamp");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    assert!(
        now.abs_diff(ts) < 10_000,
        "timestamp {ts} is not milliseconds near {now}"
    );
    let token = header(req, "X-LLNW-Security-Token");
    assert_eq!(token.len(), 64);
    assert!(
        token
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)),
        "{token}"
    );
    assert_eq!(
        token,
        spec_token(server, req),
        "token for {} {}",
        req.method,
        req.url
    );
}

fn demo_body() -> InstanceBody {
    InstanceBody {
        service_profile_name: "LLNW-Generic".into(),
        published_hostname: "demo.s.llnwi.net".into(),
        published_url_path: "/fred".into(),
        source_hostname: "origin.example.com".into(),
        source_url_path: String::new(),
        protocol_sets: vec![ProtocolSet {
            published_protocol: "http".into(),
            source_protocol: "http".into(),
            source_port: Some(30080),
            options: vec![ProtocolOption::req_send_header("X-Name", "v")],
            ..ProtocolSet::default()
        }],
        ..InstanceBody::default()
    }
}

fn server_instance(uuid: &str, version: u64) -> Value {
    json!({
        "uuid": uuid,
        "isLatest": true,
        "isEnabled": true,
        "revision": {"createdBy": "demo", "createdDate": 1_664_380_000_000i64, "versionNumber": version},
        "meta": {"manifestVersion": "4", "serviceIdentifier": "deliverysvcinst", "serviceKey": "delivery"},
        "status": {"state": "COMPLETED"},
        "accounts": [{"shortname": "demo"}],
        "shortname": "demo",
        "someFutureField": {"kept": true},
        "body": {
            "serviceKey": {"name": "delivery"},
            "serviceProfileName": "LLNW-Generic",
            "publishedHostname": "demo.s.llnwi.net",
            "publishedUrlPath": "/fred",
            "sourceHostname": "origin.example.com",
            "sourceUrlPath": "",
            "bodyFutureField": 7,
            "protocolSets": [{
                "publishedProtocol": "http",
                "sourceProtocol": "http",
                "sourcePort": 30080,
                "options": [{"name": "req_send_header", "parameters": ["X-Name", "v"]}]
            }]
        }
    })
}

async fn only_request(server: &MockServer) -> Request {
    let mut reqs = server.received_requests().await.expect("recording on");
    assert_eq!(reqs.len(), 1, "expected exactly one request, got {reqs:?}");
    reqs.remove(0)
}

#[tokio::test]
async fn create_posts_compact_json_without_server_fields_signed_over_the_sent_bytes() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{API}/svcinst/delivery")))
        .respond_with(ResponseTemplate::new(200).set_body_json(server_instance("u-1", 1)))
        .mount(&server)
        .await;

    let mut inst = Instance::new("demo", demo_body());
    // Server-owned fields a caller might carry over must not be sent.
    inst.revision = Some(Revision {
        version_number: 9,
        ..Revision::default()
    });
    inst.status = Some(InstanceStatus {
        state: "COMPLETED".into(),
        ..InstanceStatus::default()
    });
    inst.shortname = Some("demo".into());

    let created = client(&server)
        .create(&inst)
        .await
        .expect("create succeeds");
    assert_eq!(created.uuid.as_deref(), Some("u-1"));
    assert_eq!(created.version(), Some(1));

    let req = only_request(&server).await;
    assert_eq!(req.url.path(), "/config-api/v1/svcinst/delivery");
    assert_eq!(req.url.query(), None);
    assert_eq!(
        String::from_utf8(req.body.clone()).unwrap(),
        concat!(
            r#"{"accounts":[{"shortname":"demo"}],"body":{"serviceKey":{"name":"delivery"},"#,
            r#""serviceProfileName":"LLNW-Generic","publishedHostname":"demo.s.llnwi.net","#,
            r#""publishedUrlPath":"/fred","sourceHostname":"origin.example.com","sourceUrlPath":"","#,
            r#""protocolSets":[{"publishedProtocol":"http","sourceProtocol":"http","sourcePort":30080,"#,
            r#""options":[{"name":"req_send_header","parameters":["X-Name","v"]}]}]}}"#
        )
    );
    assert_eq!(header(&req, "content-type"), "application/json");
    assert_eq!(header(&req, "accept"), "application/json");
    assert_signed(&server, &req);
}

#[tokio::test]
async fn search_sends_body_prefixed_percent_encoded_query_exactly_as_signed() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!(
            "{API}/svcinst/delivery/shortname/demo/searchAuto"
        )))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "results": [server_instance("u-1", 1)], "total": 1, "page": 1, "size": 100
        })))
        .mount(&server)
        .await;

    let found = client(&server)
        .search(
            "demo",
            &[
                ("publishedHostname", "demo.s.llnwi.net"),
                ("publishedUrlPath", "/fred x"),
            ],
        )
        .await
        .expect("search succeeds");
    assert_eq!(found.len(), 1);

    let req = only_request(&server).await;
    assert_eq!(
        req.url.query(),
        Some("body.publishedHostname=demo.s.llnwi.net&body.publishedUrlPath=%2Ffred%20x")
    );
    assert!(req.body.is_empty(), "GET has no body");
    assert!(
        req.headers.get("content-type").is_none(),
        "GET has no content type"
    );
    assert_signed(&server, &req);
}

#[tokio::test]
async fn list_all_reads_pages_of_100_until_a_short_page() {
    let server = MockServer::start().await;
    let all: Vec<Value> = (0..250)
        .map(|i| server_instance(&format!("u-{i:03}"), 1))
        .collect();
    for page in 1..=3usize {
        let chunk: Vec<Value> = all
            .iter()
            .skip((page - 1) * 100)
            .take(100)
            .cloned()
            .collect();
        Mock::given(method("GET"))
            .and(path(format!("{API}/svcinst/delivery/shortname/demo")))
            .and(query_param("page", page.to_string()))
            .and(query_param("size", "100"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "results": chunk, "total": 250, "page": page, "size": 100
            })))
            .expect(1)
            .mount(&server)
            .await;
    }

    let got = client(&server)
        .list_all("demo")
        .await
        .expect("list_all succeeds");
    let uuids: Vec<String> = got.iter().filter_map(|i| i.uuid.clone()).collect();
    let expected: Vec<String> = (0..250).map(|i| format!("u-{i:03}")).collect();
    assert_eq!(uuids, expected);

    let reqs = server.received_requests().await.unwrap();
    assert_eq!(reqs.len(), 3);
    assert_eq!(reqs[0].url.query(), Some("size=100&page=1"));
    for req in &reqs {
        assert_signed(&server, req);
    }
}

#[tokio::test]
async fn list_all_keeps_paging_when_the_server_caps_the_page_size() {
    let server = MockServer::start().await;
    let all: Vec<Value> = (0..120)
        .map(|i| server_instance(&format!("u-{i:03}"), 1))
        .collect();
    for page in 1..=3usize {
        let chunk: Vec<Value> = all.iter().skip((page - 1) * 50).take(50).cloned().collect();
        // No `total`: only the reported `size` tells the client a 50-item page is full.
        Mock::given(method("GET"))
            .and(query_param("page", page.to_string()))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "results": chunk, "page": page, "size": 50
            })))
            .expect(1)
            .mount(&server)
            .await;
    }
    let got = client(&server)
        .list_all("demo")
        .await
        .expect("list_all succeeds");
    assert_eq!(got.len(), 120);
}

#[tokio::test]
async fn list_returns_one_page_with_its_envelope() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/svcinst/delivery/shortname/demo")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "results": [server_instance("u-7", 2)], "total": 11, "page": 3, "size": 5
        })))
        .mount(&server)
        .await;
    let page = client(&server)
        .list("demo", 3, 5)
        .await
        .expect("list succeeds");
    assert_eq!(page.total, Some(11));
    assert_eq!(page.page, Some(3));
    assert_eq!(page.results[0].uuid.as_deref(), Some("u-7"));
    assert_eq!(
        only_request(&server).await.url.query(),
        Some("size=5&page=3")
    );
}

#[tokio::test]
async fn get_then_replace_round_trips_unknown_fields_and_drops_server_fields() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/svcinst/delivery/u-1")))
        .respond_with(ResponseTemplate::new(200).set_body_json(server_instance("u-1", 1)))
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path(format!("{API}/svcinst/delivery/u-1")))
        .respond_with(ResponseTemplate::new(200).set_body_json(server_instance("u-1", 2)))
        .mount(&server)
        .await;

    let c = client(&server);
    let mut inst = c.get("u-1").await.expect("get succeeds").expect("exists");
    inst.body.source_url_path = "/v2".into();
    let replaced = c.replace("u-1", &inst).await.expect("replace succeeds");
    assert_eq!(replaced.version(), Some(2));

    let reqs = server.received_requests().await.unwrap();
    let put = reqs
        .iter()
        .find(|r| r.method.as_str() == "PUT")
        .expect("a PUT");
    let sent: Value = serde_json::from_slice(&put.body).expect("PUT body is JSON");
    let mut expected = server_instance("u-1", 1);
    let map = expected.as_object_mut().unwrap();
    map.remove("revision");
    map.remove("shortname");
    map.remove("status");
    expected["body"]["sourceUrlPath"] = json!("/v2");
    assert_eq!(sent, expected, "unknown fields kept, server fields dropped");
    assert_eq!(header(put, "content-type"), "application/json");
    for req in &reqs {
        assert_signed(&server, req);
    }
}

#[tokio::test]
async fn get_of_unknown_uuid_is_none() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({
            "status": 404, "error": "Not Found", "message": "no such instance"
        })))
        .mount(&server)
        .await;
    assert!(
        client(&server)
            .get("missing")
            .await
            .expect("404 is not an error")
            .is_none()
    );
}

#[tokio::test]
async fn delete_sends_no_body_and_reports_whether_it_existed() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path(format!("{API}/svcinst/delivery/u-1")))
        .respond_with(ResponseTemplate::new(200).set_body_json(server_instance("u-1", 1)))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!("{API}/svcinst/delivery/u-2")))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(json!({"status": 404, "message": "gone"})),
        )
        .mount(&server)
        .await;

    let c = client(&server);
    assert!(c.delete("u-1").await.expect("delete succeeds"));
    assert!(!c.delete("u-2").await.expect("already gone is not an error"));

    for req in server.received_requests().await.unwrap() {
        assert!(req.body.is_empty(), "DELETE has no body");
        assert!(req.headers.get("content-type").is_none());
        assert_signed(&server, &req);
    }
}

#[tokio::test]
async fn conflict_error_names_call_object_status_and_server_message() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(409).set_body_json(json!({
            "status": 409, "error": "Conflict",
            "message": "publishedHostname+publishedUrlPath already used by u-9"
        })))
        .expect(1)
        .mount(&server)
        .await;

    let err = client(&server)
        .create(&Instance::new("demo", demo_body()))
        .await
        .expect_err("409 is an error");
    assert_eq!(
        err.to_string(),
        "edgio create svcinst/delivery for demo.s.llnwi.net/fred: 409 Conflict: \
         publishedHostname+publishedUrlPath already used by u-9"
    );
    assert!(err.is_conflict());
    assert!(!err.is_retryable());
    assert_eq!(err.status(), Some(409));
    assert_eq!(err.reason(), "EdgioConflict");
}

#[tokio::test]
async fn unauthorized_and_forbidden_map_to_their_reasons() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/svcinst/delivery/shortname/other")))
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_json(json!({"status": 403, "message": "no access to other"})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(json!({"status": 401, "message": "bad token"})),
        )
        .mount(&server)
        .await;
    let c = client(&server);
    let forbidden = c.list_all("other").await.expect_err("403");
    assert_eq!(forbidden.reason(), "EdgioForbidden");
    assert!(
        forbidden.to_string().contains("no access to other"),
        "{forbidden}"
    );
    let unauthorized = c.get("u-1").await.expect_err("401");
    assert_eq!(unauthorized.reason(), "EdgioUnauthorized");
    assert_eq!(unauthorized.status(), Some(401));
}

#[tokio::test]
async fn non_json_success_body_is_an_error_naming_the_call_not_a_panic() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>maintenance</html>"))
        .mount(&server)
        .await;
    let err = client(&server)
        .get("u-1")
        .await
        .expect_err("HTML is not an instance");
    assert!(matches!(err, EdgioError::Decode { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.starts_with("edgio get svcinst/delivery/u-1: "),
        "{text}"
    );
    assert!(text.contains("<html>maintenance</html>"), "{text}");
    assert_eq!(err.reason(), "EdgioBadResponse");
}

#[tokio::test]
async fn wrong_shape_list_body_is_an_error_naming_the_call() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"results": "nope"})))
        .mount(&server)
        .await;
    let err = client(&server)
        .list("demo", 1, 100)
        .await
        .expect_err("bad shape");
    assert!(
        err.to_string()
            .starts_with("edgio list svcinst/delivery/shortname/demo page 1: "),
        "{err}"
    );
}

#[tokio::test]
async fn validate_posts_the_instance_and_reads_field_errors() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{API}/svcinst/delivery/validate")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "Success": false,
            "errors": [{"field": "body.publishedHostname", "message": "must not be an IP address"}]
        })))
        .mount(&server)
        .await;
    let mut inst = Instance::new("demo", demo_body());
    inst.accounts = vec![Account::new("demo")];
    let verdict = client(&server)
        .validate(&inst)
        .await
        .expect("validate answers");
    assert!(!verdict.success);
    assert_eq!(verdict.errors[0].field, "body.publishedHostname");
    let req = only_request(&server).await;
    assert_signed(&server, &req);
}

#[tokio::test]
async fn health_checks_the_signed_health_endpoint() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{API}/health/check")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "ok"})))
        .expect(1)
        .mount(&server)
        .await;
    client(&server).health().await.expect("healthy");
    assert_signed(&server, &only_request(&server).await);
}

#[tokio::test]
async fn dot_segment_uuid_is_refused_instead_of_reaching_another_path() {
    let server = MockServer::start().await;
    let err = client(&server)
        .delete("..")
        .await
        .expect_err("`..` would address the parent path");
    assert!(matches!(err, EdgioError::Request { .. }), "{err:?}");
    assert!(err.to_string().contains("breaks the signature"), "{err}");
    assert!(
        server.received_requests().await.unwrap().is_empty(),
        "nothing was sent"
    );
}
