//! Pins the Vultr client's exact wire format against a wiremock server: Bearer auth, JSON
//! headers, paths, cursor pagination, TXT quoting/unquoting, PATCH bodies that omit absent
//! fields, 404 handling and error messages.

use std::net::IpAddr;
use std::time::Duration;

use edgio_ingress::providers::vultr::{
    NewRecord, RecordPatch, VultrClient, VultrConfig, VultrError,
};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const KEY: &str = "demo-vultr-key";

fn client(server: &MockServer) -> VultrClient {
    let mut cfg = VultrConfig::new(format!("{}/v2/", server.uri()), KEY);
    cfg.requests_per_second = 0.0;
    cfg.initial_backoff = Duration::from_millis(1);
    cfg.max_backoff = Duration::from_millis(5);
    VultrClient::new(cfg).expect("valid config")
}

fn header<'a>(req: &'a Request, name: &str) -> &'a str {
    req.headers
        .get(name)
        .unwrap_or_else(|| panic!("missing header {name}"))
        .to_str()
        .expect("ascii header")
}

fn assert_auth_and_json_headers(req: &Request) {
    assert_eq!(header(req, "authorization"), "Bearer demo-vultr-key");
    assert_eq!(header(req, "accept"), "application/json");
    assert_eq!(header(req, "content-type"), "application/json");
}

fn record(id: &str, ty: &str, name: &str, data: &str) -> Value {
    json!({"id": id, "type": ty, "name": name, "data": data, "priority": -1, "ttl": 300})
}

async fn requests(server: &MockServer) -> Vec<Request> {
    server.received_requests().await.expect("recording on")
}

#[tokio::test]
async fn create_txt_record_sends_quoted_data_and_returns_unquoted_text() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/domains/example.com/records"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "record": record("r-1", "TXT", "_owner.origin", "\"heritage=edgio-ingress,owner=x\"")
        })))
        .expect(1)
        .mount(&server)
        .await;

    let new =
        NewRecord::new("_owner.origin", "TXT", "heritage=edgio-ingress,owner=x").with_ttl(300);
    let got = client(&server)
        .create_record("example.com", &new)
        .await
        .expect("created");
    assert_eq!(got.id, "r-1");
    assert_eq!(
        got.data, "heritage=edgio-ingress,owner=x",
        "callers see raw TXT text"
    );

    let req = &requests(&server).await[0];
    assert_auth_and_json_headers(req);
    assert_eq!(
        String::from_utf8(req.body.clone()).unwrap(),
        r#"{"name":"_owner.origin","type":"TXT","data":"\"heritage=edgio-ingress,owner=x\"","ttl":300}"#
    );
}

#[tokio::test]
async fn create_a_record_sends_relative_name_and_omits_unset_ttl_and_priority() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/domains/example.com/records"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({
            "record": record("r-2", "A", "origin", "192.0.2.10")
        })))
        .mount(&server)
        .await;
    // An FQDN inside the zone is sent in Vultr's relative form.
    let new = NewRecord::new("origin.example.com", "A", "192.0.2.10");
    let got = client(&server)
        .create_record("example.com", &new)
        .await
        .expect("created");
    assert_eq!(got.data, "192.0.2.10");
    let req = &requests(&server).await[0];
    assert_eq!(
        String::from_utf8(req.body.clone()).unwrap(),
        r#"{"name":"origin","type":"A","data":"192.0.2.10"}"#
    );
}

#[tokio::test]
async fn list_records_follows_cursors_with_per_page_500_and_unquotes_txt() {
    let server = MockServer::start().await;
    let page1: Vec<Value> = (0..500)
        .map(|i| record(&format!("a-{i}"), "A", "origin", "192.0.2.1"))
        .collect();
    Mock::given(method("GET"))
        .and(path("/v2/domains/example.com/records"))
        .and(query_param("per_page", "500"))
        .and(query_param_is_missing("cursor"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "records": page1, "meta": {"total": 502, "links": {"next": "c2+/=", "prev": ""}}
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/domains/example.com/records"))
        .and(query_param("cursor", "c2+/="))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "records": [record("t-1", "TXT", "", "\"v=spf1 -all\""), record("a-500", "A", "", "192.0.2.2")],
            "meta": {"total": 502, "links": {"next": "", "prev": "c1"}}
        })))
        .expect(1)
        .mount(&server)
        .await;

    let got = client(&server)
        .list_records("example.com")
        .await
        .expect("listed");
    assert_eq!(got.len(), 502);
    assert_eq!(got[500].data, "v=spf1 -all");
    assert_eq!(got[500].name, "", "apex is the empty name");
    assert_eq!(got[501].id, "a-500");

    let reqs = requests(&server).await;
    assert_eq!(reqs[0].url.query(), Some("per_page=500"));
    assert_eq!(
        reqs[1].url.query(),
        Some("per_page=500&cursor=c2%2B%2F%3D"),
        "cursor is percent-encoded"
    );
    for req in &reqs {
        assert_auth_and_json_headers(req);
        assert!(req.body.is_empty());
    }
}

#[tokio::test]
async fn repeated_cursor_is_an_error_not_an_endless_loop() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "records": [], "meta": {"total": 1, "links": {"next": "same", "prev": ""}}
        })))
        .mount(&server)
        .await;
    let err = client(&server)
        .list_records("example.com")
        .await
        .expect_err("loop detected");
    assert!(err.to_string().contains("same cursor"), "{err}");
    assert_eq!(requests(&server).await.len(), 2);
}

#[tokio::test]
async fn update_record_sends_only_given_fields_and_quotes_txt_data() {
    let server = MockServer::start().await;
    Mock::given(method("PATCH"))
        .respond_with(ResponseTemplate::new(204))
        .expect(2)
        .mount(&server)
        .await;
    let c = client(&server);

    // `Some("")` is a real value (the apex); absent fields are not sent.
    let move_to_apex = RecordPatch {
        name: Some(String::new()),
        ttl: Some(60),
        ..RecordPatch::default()
    };
    c.update_record("example.com", "r-1", &move_to_apex)
        .await
        .expect("patched");

    let txt = RecordPatch {
        data: Some("owner=b".into()),
        record_type: Some("TXT".into()),
        ..RecordPatch::default()
    };
    c.update_record("example.com", "r-2", &txt)
        .await
        .expect("patched");

    let reqs = requests(&server).await;
    assert_eq!(reqs[0].url.path(), "/v2/domains/example.com/records/r-1");
    assert_eq!(
        String::from_utf8(reqs[0].body.clone()).unwrap(),
        r#"{"name":"","ttl":60}"#
    );
    assert_eq!(reqs[1].url.path(), "/v2/domains/example.com/records/r-2");
    assert_eq!(
        String::from_utf8(reqs[1].body.clone()).unwrap(),
        r#"{"data":"\"owner=b\""}"#
    );
    for req in &reqs {
        assert_auth_and_json_headers(req);
    }
}

#[tokio::test]
async fn get_and_delete_treat_404_as_absent() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/domains/example.com/records/r-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "record": record("r-1", "TXT", "x", "\"quoted\"")
        })))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/v2/domains/example.com/records/r-1"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    Mock::given(wiremock::matchers::any())
        .respond_with(
            ResponseTemplate::new(404).set_body_json(json!({"error": "Not found", "status": 404})),
        )
        .mount(&server)
        .await;

    let c = client(&server);
    let got = c
        .get_record("example.com", "r-1")
        .await
        .unwrap()
        .expect("exists");
    assert_eq!(got.data, "quoted");
    assert!(c.get_record("example.com", "nope").await.unwrap().is_none());
    assert!(c.delete_record("example.com", "r-1").await.unwrap());
    assert!(!c.delete_record("example.com", "nope").await.unwrap());
    assert!(c.get_domain("missing.org").await.unwrap().is_none());
    assert!(!c.delete_domain("missing.org").await.unwrap());
    for req in requests(&server).await {
        assert_auth_and_json_headers(&req);
        assert!(req.body.is_empty(), "{} has no body", req.method);
    }
}

#[tokio::test]
async fn create_domain_sends_ip_only_when_given() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/domains"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "domain": {"domain": "example.com", "date_created": "2020-10-10T01:56:20+00:00", "dns_sec": "disabled"}
        })))
        .expect(2)
        .mount(&server)
        .await;
    let c = client(&server);
    let d = c.create_domain("example.com", None).await.expect("created");
    assert_eq!(d.domain, "example.com");
    assert_eq!(d.dns_sec, "disabled");
    let ip: IpAddr = "192.0.2.1".parse().unwrap();
    c.create_domain("example.com", Some(ip))
        .await
        .expect("created");
    let reqs = requests(&server).await;
    assert_eq!(
        String::from_utf8(reqs[0].body.clone()).unwrap(),
        r#"{"domain":"example.com"}"#
    );
    assert_eq!(
        String::from_utf8(reqs[1].body.clone()).unwrap(),
        r#"{"domain":"example.com","ip":"192.0.2.1"}"#
    );
}

#[tokio::test]
async fn list_domains_pages_with_cursor_and_tolerates_unknown_fields() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v2/domains"))
        .and(query_param_is_missing("cursor"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "domains": [{"domain": "a.com", "date_created": "x", "dns_sec": "disabled", "new_field": 1}],
            "meta": {"total": 2, "links": {"next": "n1", "prev": ""}}
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2/domains"))
        .and(query_param("cursor", "n1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "domains": [{"domain": "b.com", "date_created": "y", "dns_sec": "enabled"}],
            "meta": {"total": 2, "links": {"next": "", "prev": "n0"}}
        })))
        .mount(&server)
        .await;
    let got = client(&server).list_domains().await.expect("listed");
    let names: Vec<&str> = got.iter().map(|d| d.domain.as_str()).collect();
    assert_eq!(names, ["a.com", "b.com"]);
    assert_eq!(got[0].extra.get("new_field"), Some(&json!(1)));
}

#[tokio::test]
async fn validation_error_carries_status_and_vultr_error_message_naming_the_call() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "Record data must be enclosed in quotes", "status": 400
        })))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server)
        .create_record("example.com", &NewRecord::new("origin", "A", "not-an-ip"))
        .await
        .expect_err("400");
    assert_eq!(
        err.to_string(),
        "vultr create_record example.com record origin A not-an-ip: 400 Bad Request: \
         Record data must be enclosed in quotes"
    );
    assert_eq!(err.status(), Some(400));
    assert_eq!(
        err.server_message(),
        Some("Record data must be enclosed in quotes")
    );
    assert!(!err.is_retryable());
    assert_eq!(err.reason(), "VultrInvalidRecord");
}

#[tokio::test]
async fn wrong_key_is_unauthorized_and_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(json!({"error": "Invalid API token.", "status": 401})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server).list_domains().await.expect_err("401");
    assert_eq!(err.reason(), "VultrUnauthorized");
    assert!(err.to_string().contains("Invalid API token."), "{err}");
}

#[tokio::test]
async fn malformed_success_body_is_an_error_naming_the_call() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"record": {"id": 5}})))
        .mount(&server)
        .await;
    let err = client(&server)
        .get_record("example.com", "r-9")
        .await
        .expect_err("bad shape");
    assert!(matches!(err, VultrError::Decode { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("vultr get_record example.com record r-9: "),
        "{err}"
    );
    assert_eq!(err.reason(), "VultrBadResponse");
}

#[tokio::test]
async fn dot_segment_record_id_is_refused_instead_of_deleting_the_zone() {
    let server = MockServer::start().await;
    let err = client(&server)
        .delete_record("example.com", "..")
        .await
        .expect_err("`..` would address the zone");
    assert!(matches!(err, VultrError::Request { .. }), "{err:?}");
    assert!(
        server.received_requests().await.unwrap().is_empty(),
        "nothing was sent"
    );
}
