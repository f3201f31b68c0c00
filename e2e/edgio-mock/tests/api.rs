//! The Config API and admin API of the real binary over loopback.

mod common;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};

const VECTOR_TS: &str = "1664380000000";

fn vector_mock() -> Mock {
    let args: Vec<String> = [
        "--user",
        &format!("demo:{KEY}:demo,cstradtman"),
        "--public-base-url",
        "https://apis.llnw.com",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    Mock::start_raw(&args, &[("EDGIO_MOCK_CLOCK_MS", VECTOR_TS)]).unwrap()
}

#[tokio::test]
async fn spec_signing_vectors_are_accepted_and_a_tampered_query_is_not() {
    let mock = vector_mock();
    let c = Client::demo();
    let q1 = "body.publishedUrlPath=%2Fbob&body.publishedHostname=cstradtman.s.llnwi.net";
    let v1 = "4611841d1314d4f2515bdf83d27b87f7c1c57704a121b31c0a0d222f69ca7862";
    let url1 = format!(
        "{}?{q1}",
        mock.api_url("svcinst/delivery/shortname/cstradtman/searchAuto")
    );
    let r = c.send_signed("GET", &url1, None, VECTOR_TS, v1).await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["results"], json!([]));

    // Same token, one byte of the query changed: the signature no longer matches.
    let tampered = url1.replace("%2Fbob", "%2Fbot");
    let r = c.send_signed("GET", &tampered, None, VECTOR_TS, v1).await;
    assert_eq!(r.status, 401, "{}", r.json);

    // Vector 2 authenticates; its body is not a valid instance, so validation answers 400.
    let v2 = "876403dc18cf7df04ab959d37730209adead975978dbdd35e27356a706a59b9e";
    let body2 = br#"{"accounts":[{"shortname":"demo"}]}"#;
    let r = c
        .send_signed(
            "POST",
            &mock.api_url("svcinst/delivery"),
            Some(body2),
            VECTOR_TS,
            v2,
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.json);
    assert_eq!(r.json["status"], 400);
    assert_eq!(r.json["error"], "Bad Request");
    assert!(
        r.json["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["field"] == "body")
    );

    // Vectors 3 and 4: DELETE with the body `null` and with none; both authenticate (404: unknown).
    let url3 = mock.api_url("svcinst/delivery/6f1c2d3e-0000-4000-8000-000000000001");
    let v3 = "eb48171816757adecc6afe004f588e75de9364ffae137ce38c34c7a10f3119c2";
    let v4 = "c891b89da7ebe9433d954b29230d8cdcaf3b0eea04e79398c9adcd03cbeaa18c";
    let r = c
        .send_signed("DELETE", &url3, Some(b"null"), VECTOR_TS, v3)
        .await;
    assert_eq!(r.status, 404, "{}", r.json);
    let r = c.send_signed("DELETE", &url3, None, VECTOR_TS, v4).await;
    assert_eq!(r.status, 404, "{}", r.json);
    // Swapped: the `null` token without the body fails.
    let r = c.send_signed("DELETE", &url3, None, VECTOR_TS, v3).await;
    assert_eq!(r.status, 401, "{}", r.json);
}

#[tokio::test]
async fn signature_over_the_default_port_form_of_the_public_url_is_accepted() {
    let mock = vector_mock();
    let c = Client::demo();
    let path = "config-api/v1/svcinst/delivery/shortname/demo";
    for signed in [
        format!("https://apis.llnw.com:443/{path}"),
        format!("https://apis.llnw.com/{path}"),
    ] {
        let tok = token(KEY, "GET", &signed, "", VECTOR_TS, b"");
        let r = c
            .send_signed(
                "GET",
                &format!("{}/{path}", mock.api),
                None,
                VECTOR_TS,
                &tok,
            )
            .await;
        assert_eq!(r.status, 200, "signed {signed}: {}", r.json);
    }
    let wrong = token(
        KEY,
        "GET",
        &format!("https://apis.llnw.com:8443/{path}"),
        "",
        VECTOR_TS,
        b"",
    );
    let r = c
        .send_signed(
            "GET",
            &format!("{}/{path}", mock.api),
            None,
            VECTOR_TS,
            &wrong,
        )
        .await;
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn tampered_body_wrong_key_unknown_user_and_missing_headers_get_401() {
    let mock = Mock::start(&[]);
    let url = mock.api_url("svcinst/delivery");
    let doc = instance_doc("demo", "a.example.com", "/x", "origin.example.com", 80);
    let body = serde_json::to_vec(&doc).unwrap();
    let ts = now_ms().to_string();
    let good = token(KEY, "POST", &url, "", &ts, &body);

    let mut tampered = body.clone();
    tampered.push(b' ');
    let r = Client::demo()
        .send_signed("POST", &url, Some(&tampered), &ts, &good)
        .await;
    assert_eq!(r.status, 401, "{}", r.json);
    assert!(r.json["message"].as_str().unwrap().contains("signature"));

    let r = Client::new("demo", OTHER_KEY).post_json(&url, &doc).await;
    assert_eq!(r.status, 401);
    let r = Client::new("nobody", KEY).post_json(&url, &doc).await;
    assert_eq!(r.status, 401);
    assert!(r.json["message"].as_str().unwrap().contains("nobody"));

    let r = reqwest::Client::new()
        .get(mock.api_url("svcinst/delivery/shortname/demo"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert_eq!(
        r.headers()["content-type"],
        "application/json;charset=UTF-8"
    );

    // Nothing was created by any of the rejected calls.
    let r = Client::demo()
        .get(&mock.api_url("svcinst/delivery/shortname/demo"))
        .await;
    assert_eq!(r.json["total"], 0);
    // And the untampered request still works.
    let r = Client::demo()
        .send_signed("POST", &url, Some(&body), &ts, &good)
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
}

#[tokio::test]
async fn timestamps_beyond_300_seconds_either_way_get_401() {
    let mock = Mock::start(&[]);
    let url = mock.api_url("svcinst/delivery/shortname/demo");
    let c = Client::demo();
    let r = c.send_at("GET", &url, None, now_ms() - 301_000).await;
    assert_eq!(r.status, 401);
    assert!(
        r.json["message"].as_str().unwrap().contains("past"),
        "{}",
        r.json
    );
    let r = c.send_at("GET", &url, None, now_ms() + 301_000).await;
    assert_eq!(r.status, 401);
    assert!(
        r.json["message"].as_str().unwrap().contains("future"),
        "{}",
        r.json
    );
    let r = c.send_at("GET", &url, None, now_ms() - 250_000).await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn foreign_account_gets_403() {
    let mock = Mock::start(&[]);
    let demo = Client::demo();
    let other = Client::new("other", OTHER_KEY);
    let r = demo
        .post_json(
            &mock.api_url("svcinst/delivery"),
            &instance_doc("other", "a.example.com", "/x", "origin.example.com", 80),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.json);
    let r = demo
        .get(&mock.api_url("svcinst/delivery/shortname/other"))
        .await;
    assert_eq!(r.status, 403);
    let r = demo
        .get(
            &mock.api_url("svcinst/delivery/shortname/other/searchAuto?body.publishedUrlPath=%2Fx"),
        )
        .await;
    assert_eq!(r.status, 403);

    let created = demo
        .post_json(
            &mock.api_url("svcinst/delivery"),
            &instance_doc("demo", "a.example.com", "/x", "origin.example.com", 80),
        )
        .await;
    assert_eq!(created.status, 200);
    let uuid = created.json["uuid"].as_str().unwrap();
    let one = mock.api_url(&format!("svcinst/delivery/{uuid}"));
    assert_eq!(other.get(&one).await.status, 403);
    assert_eq!(other.send("DELETE", &one, None).await.status, 403);
    // Moving demo's instance into a foreign account is refused too.
    let mut moved = created.json.clone();
    moved["accounts"] = json!([{"shortname": "other"}]);
    assert_eq!(demo.put_json(&one, &moved).await.status, 403);
    assert_eq!(demo.get(&one).await.status, 200);
}

#[tokio::test]
async fn lifecycle_revisions_and_client_dialects() {
    let mock = Mock::start(&[]);
    let c = Client::demo();
    let mut doc = instance_doc(
        "demo",
        "demo.s.llnwi.net",
        "fred",
        "origin.example.com",
        30080,
    );
    doc["body"]["someFutureField"] = json!({"kept": [1, 2]});
    let created = c.post_json(&mock.api_url("svcinst/delivery"), &doc).await;
    assert_eq!(created.status, 200, "{}", created.json);
    assert_eq!(
        created.headers["content-type"],
        "application/json;charset=UTF-8"
    );
    let i = &created.json;
    let uuid = i["uuid"].as_str().unwrap().to_string();
    assert_eq!(i["isLatest"], true);
    assert_eq!(i["isEnabled"], true);
    assert_eq!(i["revision"]["versionNumber"], 1);
    assert_eq!(i["revision"]["createdBy"], "demo");
    let created_ms = i["revision"]["createdDate"].as_u64().unwrap();
    assert!(created_ms.abs_diff(now_ms()) < 60_000);
    assert_eq!(i["meta"]["serviceIdentifier"], "deliverysvcinst");
    assert_eq!(i["meta"]["manifestVersion"], "4");
    assert_eq!(i["status"]["state"], "COMPLETED");
    assert_eq!(i["shortname"], "demo");
    assert_eq!(i["body"]["publishedUrlPath"], "/fred");
    assert_eq!(i["body"]["someFutureField"]["kept"], json!([1, 2]));

    let one = mock.api_url(&format!("svcinst/delivery/{uuid}"));
    let got = c.get(&one).await;
    assert_eq!(got.json, created.json);

    // Python SDK dialect: the whole instance echoed back, serialised with ", " / ": ".
    let mut echo = got.json.clone();
    echo["body"]["sourceUrlPath"] = json!("/v2");
    let python_body = to_python_json(&echo);
    assert!(python_body.contains("\", \"") || python_body.contains(": "));
    let r = c.send("PUT", &one, Some(python_body.as_bytes())).await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["revision"]["versionNumber"], 2);
    assert_eq!(r.json["body"]["sourceUrlPath"], "/v2");

    // Go SDK dialect: compact {uuid, body, accounts}, no publishedPort.
    let mut body = r.json["body"].clone();
    body["publishedUrlPath"] = json!("/fred2");
    let go = json!({"uuid": uuid, "body": body, "accounts": [{"shortname": "demo"}]});
    let r = c.put_json(&one, &go).await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["revision"]["versionNumber"], 3);
    assert_eq!(r.json["body"]["publishedUrlPath"], "/fred2");
    assert_eq!(r.json["isEnabled"], true);

    // A PUT naming another uuid in its body is refused.
    let mut wrong = go.clone();
    wrong["uuid"] = json!("00000000-0000-4000-8000-000000000000");
    assert_eq!(c.put_json(&one, &wrong).await.status, 400);

    // DELETE with the Python SDK's `null` body returns the instance; then it is gone.
    let r = c.send("DELETE", &one, Some(b"null")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["uuid"], uuid.as_str());
    assert_eq!(c.get(&one).await.status, 404);
    assert_eq!(c.send("DELETE", &one, None).await.status, 404);
    assert_eq!(c.put_json(&one, &go).await.status, 404);

    // DELETE without a body (Go SDK) works as well.
    let second = c.post_json(&mock.api_url("svcinst/delivery"), &doc).await;
    let two = mock.api_url(&format!(
        "svcinst/delivery/{}",
        second.json["uuid"].as_str().unwrap()
    ));
    assert_eq!(c.send("DELETE", &two, None).await.status, 200);
    assert_eq!(c.get(&two).await.status, 404);
}

/// JSON the way Python's `json.dumps` writes it by default.
fn to_python_json(v: &Value) -> String {
    match v {
        Value::Object(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!("{}: {}", Value::String(k.clone()), to_python_json(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(to_python_json).collect::<Vec<_>>().join(", ")
        ),
        other => other.to_string(),
    }
}

#[tokio::test]
async fn duplicate_published_host_path_protocol_gets_409_naming_the_uuid() {
    let mock = Mock::start(&[]);
    let c = Client::demo();
    let create = mock.api_url("svcinst/delivery");
    let first = c
        .post_json(
            &create,
            &instance_doc("demo", "demo.s.llnwi.net", "/fred", "o.example.com", 80),
        )
        .await;
    let uuid = first.json["uuid"].as_str().unwrap();
    let dup = c
        .post_json(
            &create,
            &instance_doc("demo", "demo.s.llnwi.net", "fred", "p.example.com", 81),
        )
        .await;
    assert_eq!(dup.status, 409, "{}", dup.json);
    assert_eq!(dup.json["error"], "Conflict");
    assert!(
        dup.json["message"].as_str().unwrap().contains(uuid),
        "{}",
        dup.json
    );

    let second = c
        .post_json(
            &create,
            &instance_doc("demo", "demo.s.llnwi.net", "/bob", "o.example.com", 80),
        )
        .await;
    assert_eq!(second.status, 200);
    let mut colliding = second.json.clone();
    colliding["body"]["publishedUrlPath"] = json!("/fred");
    let two = mock.api_url(&format!(
        "svcinst/delivery/{}",
        second.json["uuid"].as_str().unwrap()
    ));
    let r = c.put_json(&two, &colliding).await;
    assert_eq!(r.status, 409);
    assert!(r.json["message"].as_str().unwrap().contains(uuid));
    // Re-putting an instance onto its own host+path is not a collision.
    assert_eq!(c.put_json(&two, &second.json).await.status, 200);
    // Another account may publish the same host+path.
    let other = Client::new("other", OTHER_KEY)
        .post_json(
            &create,
            &instance_doc("other", "demo.s.llnwi.net", "/fred", "o.example.com", 80),
        )
        .await;
    assert_eq!(other.status, 200, "{}", other.json);
}

#[tokio::test]
async fn invalid_instances_get_400_with_field_errors_and_validate_reports_them() {
    let mock = Mock::start(&[]);
    let c = Client::demo();
    let mut doc = instance_doc("demo", "10.1.2.3", "/x", "origin.example.com", 80);
    doc["body"]["protocolSets"][0]["sourcePort"] = json!(70000);
    doc["body"]["protocolSets"][0]["sourceProtocol"] = json!("gopher");
    let r = c.post_json(&mock.api_url("svcinst/delivery"), &doc).await;
    assert_eq!(r.status, 400);
    let fields: Vec<&str> = r.json["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert!(fields.contains(&"body.publishedHostname"), "{fields:?}");
    assert!(
        fields.contains(&"body.protocolSets[0].sourcePort"),
        "{fields:?}"
    );
    assert!(
        fields.contains(&"body.protocolSets[0].sourceProtocol"),
        "{fields:?}"
    );

    let r = c
        .send(
            "POST",
            &mock.api_url("svcinst/delivery"),
            Some(b"{not json"),
        )
        .await;
    assert_eq!(r.status, 400);

    let v = c
        .post_json(&mock.api_url("svcinst/delivery/validate"), &doc)
        .await;
    assert_eq!(v.status, 200);
    assert_eq!(v.json["Success"], false);
    assert!(!v.json["errors"].as_array().unwrap().is_empty());
    let good = instance_doc("demo", "a.example.com", "/x", "origin.example.com", 80);
    let v = c
        .post_json(&mock.api_url("svcinst/delivery/validate"), &good)
        .await;
    assert_eq!(v.json["Success"], true, "{}", v.json);
    // validate never creates anything
    let list = c
        .get(&mock.api_url("svcinst/delivery/shortname/demo"))
        .await;
    assert_eq!(list.json["total"], 0);
}

#[tokio::test]
async fn listing_pages_and_search_matches_exact_fields_anded() {
    let mock = Mock::start(&[]);
    let c = Client::demo();
    let mut uuids = Vec::new();
    for i in 0..5 {
        let host = if i % 2 == 0 {
            "even.example.com"
        } else {
            "odd.example.com"
        };
        let r = c
            .post_json(
                &mock.api_url("svcinst/delivery"),
                &instance_doc(
                    "demo",
                    host,
                    &format!("/p{i}"),
                    "origin.example.com",
                    8000 + i,
                ),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.json);
        uuids.push(r.json["uuid"].as_str().unwrap().to_string());
    }
    let list = |q: &str| mock.api_url(&format!("svcinst/delivery/shortname/demo{q}"));
    let mut seen = Vec::new();
    for (page, expect) in [(1, 2), (2, 2), (3, 1), (4, 0)] {
        let r = c.get(&list(&format!("?size=2&page={page}"))).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.json["total"], 5);
        assert_eq!(r.json["page"], page);
        assert_eq!(r.json["size"], 2);
        let results = r.json["results"].as_array().unwrap();
        assert_eq!(results.len(), expect, "page {page}");
        seen.extend(
            results
                .iter()
                .map(|i| i["uuid"].as_str().unwrap().to_string()),
        );
    }
    assert_eq!(
        seen, uuids,
        "pages cover every instance once, in creation order"
    );
    let r = c.get(&list("")).await;
    assert_eq!(r.json["size"], 100);
    assert_eq!(r.json["results"].as_array().unwrap().len(), 5);
    assert_eq!(c.get(&list("?size=0")).await.status, 400);

    let search = |q: &str| mock.api_url(&format!("svcinst/delivery/shortname/demo/searchAuto?{q}"));
    let r = c.get(&search("body.publishedUrlPath=%2Fp3")).await;
    assert_eq!(r.json["results"].as_array().unwrap().len(), 1);
    assert_eq!(r.json["results"][0]["uuid"], uuids[3].as_str());
    let r = c
        .get(&search(
            "body.publishedUrlPath=%2Fp3&body.publishedHostname=even.example.com",
        ))
        .await;
    assert_eq!(
        r.json["results"].as_array().unwrap().len(),
        0,
        "filters are ANDed"
    );
    let r = c
        .get(&search("body.publishedHostname=even.example.com"))
        .await;
    assert_eq!(r.json["total"], 3);
    let r = c.get(&search("body.protocolSets.sourcePort=8004")).await;
    assert_eq!(r.json["results"][0]["uuid"], uuids[4].as_str());
    let r = c.get(&search("body.publishedUrlPath=p3")).await;
    assert_eq!(r.json["total"], 0, "exact match only");
    // The other account's listing does not include demo's instances.
    let other = Client::new("other", OTHER_KEY);
    let r = other
        .get(&mock.api_url("svcinst/delivery/shortname/other"))
        .await;
    assert_eq!(r.json["total"], 0);
}

async fn put_faults(mock: &Mock, faults: Value) -> Value {
    let r = reqwest::Client::new()
        .put(format!("{}/__admin/faults", mock.api))
        .json(&faults)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    r.json().await.unwrap()
}

#[tokio::test]
async fn runtime_faults_inject_errors_bursts_rate_limits_latency_and_processing() {
    let mock = Mock::start(&[]);
    let c = Client::demo();
    let list = mock.api_url("svcinst/delivery/shortname/demo");

    put_faults(&mock, json!({"error_rate": {"get": 1.0}})).await;
    let r = c.get(&list).await;
    assert_eq!(r.status, 503);
    assert_eq!(r.json["status"], 503);
    let doc = instance_doc("demo", "a.example.com", "/x", "origin.example.com", 80);
    assert_eq!(
        c.post_json(&mock.api_url("svcinst/delivery"), &doc)
            .await
            .status,
        200
    );

    let shown = put_faults(&mock, json!({"burst_429": 2, "retry_after_secs": 3})).await;
    assert_eq!(shown["burst_429"], 2);
    assert!(
        shown["error_rate"].as_object().unwrap().is_empty(),
        "PUT replaces"
    );
    for _ in 0..2 {
        let r = c.get(&list).await;
        assert_eq!(r.status, 429);
        assert_eq!(r.headers["retry-after"], "3");
    }
    assert_eq!(c.get(&list).await.status, 200);

    put_faults(&mock, json!({"rate_limit_per_sec": 2})).await;
    let mut limited = None;
    for _ in 0..10 {
        let r = c.get(&list).await;
        if r.status == 429 {
            limited = Some(r);
            break;
        }
    }
    let limited = limited.expect("10 quick calls exceed 2 per second");
    assert!(
        limited.headers["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );

    put_faults(&mock, json!({"latency_ms": 300})).await;
    let t = Instant::now();
    assert_eq!(c.get(&list).await.status, 200);
    assert!(t.elapsed() >= Duration::from_millis(300));

    put_faults(&mock, json!({"processing_seconds": 0.5})).await;
    let mut doc2 = doc.clone();
    doc2["body"]["publishedUrlPath"] = json!("/y");
    let r = c.post_json(&mock.api_url("svcinst/delivery"), &doc2).await;
    assert_eq!(r.json["status"]["state"], "PROCESSING");
    let one = mock.api_url(&format!(
        "svcinst/delivery/{}",
        r.json["uuid"].as_str().unwrap()
    ));
    wait_for(
        "status.state COMPLETED",
        Duration::from_secs(10),
        || async { c.get(&one).await.json["status"]["state"] == "COMPLETED" },
    )
    .await;

    let bad = reqwest::Client::new()
        .put(format!("{}/__admin/faults", mock.api))
        .json(&json!({"error_rate": {"GET": 2}}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 400);

    // Reset restores the start-up faults (none) and empties the instances.
    let r = reqwest::Client::new()
        .post(format!("{}/__admin/reset", mock.api))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let faults: Value = reqwest::get(format!("{}/__admin/faults", mock.api))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(faults["latency_ms"], 0);
    assert_eq!(faults["processing_seconds"], 0.0);
    let state: Value = reqwest::get(format!("{}/__admin/state", mock.api))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state["instances"], json!([]));
}

#[tokio::test]
async fn fault_flags_apply_from_start_up() {
    let mock = Mock::start(&[
        "--burst-429",
        "1",
        "--retry-after",
        "5",
        "--error-rate",
        "DELETE=1",
    ]);
    let c = Client::demo();
    let list = mock.api_url("svcinst/delivery/shortname/demo");
    let r = c.get(&list).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.headers["retry-after"], "5");
    assert_eq!(c.get(&list).await.status, 200);
    let r = c
        .send("DELETE", &mock.api_url("svcinst/delivery/x"), None)
        .await;
    assert_eq!(r.status, 503);
}

#[tokio::test]
async fn request_log_records_api_calls_but_not_admin_calls() {
    let mock = Mock::start(&[]);
    let c = Client::demo();
    c.get(&mock.api_url("svcinst/delivery/shortname/demo?size=5"))
        .await;
    c.get(&mock.api_url("svcinst/delivery/nope")).await;
    let http = reqwest::Client::new();
    http.get(format!("{}/__admin/state", mock.api))
        .send()
        .await
        .unwrap();
    let log: Vec<Value> = http
        .get(format!("{}/__admin/requests", mock.api))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(log.len(), 2, "{log:?}");
    assert_eq!(log[0]["method"], "GET");
    assert_eq!(
        log[0]["path"],
        "/config-api/v1/svcinst/delivery/shortname/demo"
    );
    assert_eq!(log[0]["query"], "size=5");
    assert_eq!(log[0]["status"], 200);
    assert_eq!(log[1]["status"], 404);
    let time = log[0]["time"].as_str().unwrap();
    assert!(
        time.len() == 24 && time.ends_with('Z') && time.as_bytes()[10] == b'T',
        "{time}"
    );
    let r = http
        .delete(format!("{}/__admin/requests", mock.api))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let log: Vec<Value> = http
        .get(format!("{}/__admin/requests", mock.api))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(log.is_empty());
    // Access log lines for API calls go to stdout as JSON.
    let lines = mock.stdout_lines();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("\"listener\":\"api\"") && l.contains("\"status\":404")),
        "{lines:?}"
    );
}

#[tokio::test]
async fn state_file_survives_a_restart_and_a_corrupt_one_stops_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("edgio-state.json");
    let state_arg = state.to_str().unwrap();
    let mock = Mock::start(&["--state-file", state_arg]);
    let c = Client::demo();
    let created = c
        .post_json(
            &mock.api_url("svcinst/delivery"),
            &instance_doc(
                "demo",
                "demo.s.llnwi.net",
                "/fred",
                "origin.example.com",
                30080,
            ),
        )
        .await;
    let uuid = created.json["uuid"].as_str().unwrap().to_string();
    let r = c
        .put_json(
            &mock.api_url(&format!("svcinst/delivery/{uuid}")),
            &created.json,
        )
        .await;
    assert_eq!(r.json["revision"]["versionNumber"], 2);
    mock.stop();

    let again = Mock::start(&["--state-file", state_arg]);
    let r = c
        .get(&again.api_url(&format!("svcinst/delivery/{uuid}")))
        .await;
    assert_eq!(r.status, 200, "{}", r.json);
    assert_eq!(r.json["revision"]["versionNumber"], 2);
    assert_eq!(r.json["body"]["publishedUrlPath"], "/fred");
    again.stop();

    std::fs::write(&state, b"{\"instances\": [ {\"uuid\": 1").unwrap();
    let err = Mock::start_raw(
        &[
            "--user".into(),
            format!("demo:{KEY}:demo"),
            "--state-file".into(),
            state_arg.into(),
        ],
        &[],
    )
    .err()
    .expect("a corrupt state file stops start-up");
    assert!(err.contains("corrupt"), "{err}");
    assert!(err.contains("edgio-state.json"), "{err}");
}

#[tokio::test]
async fn bad_user_flag_is_a_clear_start_up_error() {
    let err = Mock::start_raw(&["--user".into(), "demo:nothex:demo".into()], &[])
        .err()
        .expect("bad key stops start-up");
    assert!(err.contains("not hex"), "{err}");
}

#[tokio::test]
async fn users_from_env_and_config_file_authenticate() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("users.json");
    std::fs::write(
        &cfg,
        format!(r#"{{"users":[{{"name":"filed","key":"{OTHER_KEY}","shortnames":["f"]}}]}}"#),
    )
    .unwrap();
    let mock = Mock::start_raw(
        &["--config".into(), cfg.to_str().unwrap().into()],
        &[(
            "EDGIO_MOCK_USERS",
            &format!("demo:{KEY}:demo;second:{KEY}:s"),
        )],
    )
    .unwrap();
    for (user, key, sn) in [
        ("demo", KEY, "demo"),
        ("second", KEY, "s"),
        ("filed", OTHER_KEY, "f"),
    ] {
        let r = Client::new(user, key)
            .get(&mock.api_url(&format!("svcinst/delivery/shortname/{sn}")))
            .await;
        assert_eq!(r.status, 200, "{user}: {}", r.json);
    }
}

#[tokio::test]
async fn hostile_input_gets_errors_and_the_server_keeps_serving() {
    let mock = Mock::start(&[]);
    let addr = mock.api.trim_start_matches("http://").to_string();

    // Garbage instead of HTTP.
    let mut s = std::net::TcpStream::connect(&addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"\x00\x01\x02 garbage \r\n\r\n").unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out);
    assert!(out.is_empty() || text.starts_with("HTTP/1.1 400"), "{text}");

    // A 200 KB header.
    let mut s = std::net::TcpStream::connect(&addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let huge = format!(
        "GET /config-api/v1/health/check HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(200_000)
    );
    let _ = s.write_all(huge.as_bytes());
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out);
    assert!(out.is_empty() || text.starts_with("HTTP/1.1 431"), "{text}");

    // A body that is not JSON, and one too large.
    let c = Client::demo();
    let r = c
        .send(
            "POST",
            &mock.api_url("svcinst/delivery"),
            Some(&[0xff, 0xfe, 0x00]),
        )
        .await;
    assert_eq!(r.status, 400);
    // Slow clients that never finish their request head do not block anyone else.
    let stalled: Vec<std::net::TcpStream> = (0..50)
        .map(|_| {
            let mut s = std::net::TcpStream::connect(&addr).unwrap();
            s.write_all(b"GET /config-api/v1/health/check HTTP/1.1\r\nHost: x\r\n")
                .unwrap();
            s
        })
        .collect();
    let health = reqwest::get(mock.api_url("health/check")).await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
    drop(stalled);

    // A declared 2 MB body is refused before it is read.
    let mut s = std::net::TcpStream::connect(&addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(
        b"POST /config-api/v1/svcinst/delivery HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n[[[",
    )
    .unwrap();
    let mut out = [0u8; 64];
    let n = s.read(&mut out).unwrap_or(0);
    let text = String::from_utf8_lossy(&out[..n]);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");

    let health: Value = reqwest::get(mock.api_url("health/check"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    assert!(!mock.stderr().contains("panicked"), "{}", mock.stderr());
}

#[tokio::test]
async fn wrong_methods_and_unknown_paths_get_json_405_and_404() {
    let mock = Mock::start(&[]);
    let c = Client::demo();
    let r = c.get(&mock.api_url("svcinst/delivery")).await;
    assert_eq!(r.status, 405);
    assert_eq!(r.headers["allow"], "POST");
    let r = c.get(&mock.api_url("svcinst/unknown")).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json["status"], 404);
}
