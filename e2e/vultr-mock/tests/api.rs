//! The Vultr API v2 surface of the real binary: statuses, bodies, headers, validation, pagination
//! and auth, as `shared/specs/vultr-dns-api.md` states them.

mod common;

use std::collections::HashSet;

use common::{KEY, Mock};
use serde_json::{Value, json};

const ZONE: &str = "example.com";
const RECORDS: &str = "/v2/domains/example.com/records";

fn mock() -> Mock {
    Mock::start(&["--domain", ZONE, "--rate-limit", "0"])
}

#[tokio::test]
async fn record_lifecycle_has_exact_statuses_and_bodies() {
    let mock = mock();

    // Create: 201, exact Content-Type, the record echoed with a uuid id and priority -1.
    // The body ends with a newline, as the Go client sends it.
    let created = mock
        .post(
            RECORDS,
            "{\"name\":\"origin\",\"type\":\"A\",\"data\":\"192.0.2.10\",\"ttl\":120,\"priority\":5}\n",
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.content_type(), Some("application/json"));
    let record = created.json()["record"].clone();
    let id = record["id"].as_str().expect("id").to_string();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "id {id} is a uuid");
    assert_eq!(
        created.json(),
        json!({"record":{"id":id,"type":"A","name":"origin","data":"192.0.2.10","priority":-1,"ttl":120}})
    );

    // Get: 200 with the same record.
    let got = mock.get(&format!("{RECORDS}/{id}")).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.content_type(), Some("application/json"));
    assert_eq!(got.json(), json!({ "record": record }));

    // Patch: 204, empty, absent fields kept, `type` ignored.
    let patched = mock
        .patch(
            &format!("{RECORDS}/{id}"),
            r#"{"data":"192.0.2.20","type":"AAAA"}"#,
        )
        .await;
    assert_eq!(patched.status, 204);
    assert!(patched.body.is_empty());
    assert_eq!(patched.content_type(), None);
    let got = mock.get(&format!("{RECORDS}/{id}")).await.json();
    assert_eq!(
        got["record"],
        json!({"id":id,"type":"A","name":"origin","data":"192.0.2.20","priority":-1,"ttl":120})
    );

    // `""` is a real value: the record moves to the apex.
    assert_eq!(
        mock.patch(&format!("{RECORDS}/{id}"), r#"{"name":""}"#)
            .await
            .status,
        204
    );
    assert_eq!(
        mock.get(&format!("{RECORDS}/{id}")).await.json()["record"]["name"],
        ""
    );

    // List shows it with meta.
    let list = mock.get(RECORDS).await;
    assert_eq!(list.status, 200);
    assert_eq!(
        list.json(),
        json!({"records":[{"id":id,"type":"A","name":"","data":"192.0.2.20","priority":-1,"ttl":120}],
               "meta":{"total":1,"links":{"next":"","prev":""}}})
    );

    // Delete: 204 empty, then 404 everywhere.
    let deleted = mock.delete(&format!("{RECORDS}/{id}")).await;
    assert_eq!(deleted.status, 204);
    assert!(deleted.body.is_empty());
    mock.get(&format!("{RECORDS}/{id}"))
        .await
        .assert_error(404, "not found");
    mock.delete(&format!("{RECORDS}/{id}"))
        .await
        .assert_error(404, "not found");
    mock.patch(&format!("{RECORDS}/{id}"), "{}")
        .await
        .assert_error(404, "not found");
}

#[tokio::test]
async fn domain_lifecycle_seeds_records_from_ip() {
    let mock = mock();
    let created = mock
        .post(
            "/v2/domains",
            r#"{"domain":"seeded.test","ip":"192.0.2.7"}"#,
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    assert_eq!(created.content_type(), Some("application/json"));
    let domain = created.json()["domain"].clone();
    assert_eq!(domain["domain"], "seeded.test");
    assert_eq!(domain["dns_sec"], "disabled");
    let date = domain["date_created"].as_str().expect("date_created");
    assert!(
        date.len() == 25 && date.ends_with("+00:00") && date.as_bytes()[10] == b'T',
        "{date}"
    );
    assert_eq!(
        mock.get("/v2/domains/seeded.test").await.json(),
        json!({ "domain": domain })
    );

    let records = mock.get("/v2/domains/seeded.test/records").await.json();
    let mut seeded: Vec<(String, String, String, i64, i64)> = records["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| {
            (
                r["type"].as_str().unwrap_or_default().to_string(),
                r["name"].as_str().unwrap_or_default().to_string(),
                r["data"].as_str().unwrap_or_default().to_string(),
                r["priority"].as_i64().unwrap_or_default(),
                r["ttl"].as_i64().unwrap_or_default(),
            )
        })
        .collect();
    seeded.sort();
    let expected: Vec<(String, String, String, i64, i64)> = [
        ("A", "", "192.0.2.7", -1),
        ("CNAME", "*", "seeded.test", -1),
        ("MX", "", "seeded.test", 10),
        ("NS", "", "ns1.vultr.com", -1),
        ("NS", "", "ns2.vultr.com", -1),
    ]
    .iter()
    .map(|(t, n, d, p)| (t.to_string(), n.to_string(), d.to_string(), *p, 300))
    .collect();
    assert_eq!(seeded, expected);

    assert_eq!(
        mock.get("/v2/domains/seeded.test/soa").await.json(),
        json!({"dns_soa":{"nsprimary":"ns1.vultr.com","email":"dnsadm@vultr.com"}})
    );

    // Without ip the zone starts empty.
    assert_eq!(
        mock.post("/v2/domains", r#"{"domain":"empty.test"}"#)
            .await
            .status,
        200
    );
    assert_eq!(
        mock.get("/v2/domains/empty.test/records").await.json()["meta"]["total"],
        0
    );

    let all = mock.get("/v2/domains").await.json();
    let names: Vec<&str> = all["domains"]
        .as_array()
        .expect("domains")
        .iter()
        .filter_map(|d| d["domain"].as_str())
        .collect();
    assert_eq!(names, vec![ZONE, "seeded.test", "empty.test"]);
    assert_eq!(all["meta"]["total"], 3);

    mock.post("/v2/domains", r#"{"domain":"seeded.test"}"#)
        .await
        .assert_error(400, "already exists");
    mock.post("/v2/domains", r#"{"domain":"bad domain"}"#)
        .await
        .assert_error(400, "Invalid domain");
    mock.post("/v2/domains", r#"{"domain":"x.test","ip":"nope"}"#)
        .await
        .assert_error(400, "Invalid ip");

    let deleted = mock.delete("/v2/domains/seeded.test").await;
    assert_eq!(deleted.status, 204);
    assert!(deleted.body.is_empty());
    mock.get("/v2/domains/seeded.test")
        .await
        .assert_error(404, "not found");
    mock.get("/v2/domains/seeded.test/records")
        .await
        .assert_error(404, "not found");
    mock.post(
        "/v2/domains/seeded.test/records",
        r#"{"name":"a","type":"A","data":"192.0.2.1"}"#,
    )
    .await
    .assert_error(404, "not found");
}

#[tokio::test]
async fn names_are_stored_relative_to_the_zone() {
    let mock = mock();
    let cases = [
        ("www.example.com", "www"),
        ("api.example.com.", "api"),
        ("example.com", ""),
        ("@", ""),
        ("*", "*"),
        ("Mixed", "mixed"),
    ];
    for (index, (sent, stored)) in cases.iter().enumerate() {
        let reply = mock
            .post(
                RECORDS,
                &json!({"name": sent, "type": "A", "data": format!("192.0.2.{}", index + 1)})
                    .to_string(),
            )
            .await;
        assert_eq!(reply.status, 201, "{sent}: {}", reply.body);
        assert_eq!(reply.json()["record"]["name"], *stored, "{sent}");
    }
}

#[tokio::test]
async fn txt_is_quoted_on_write_and_read() {
    let mock = mock();
    let id = mock
        .create_record(
            ZONE,
            json!({"name":"_owner","type":"TXT","data":"\"heritage=edgio-ingress,owner=demo\""}),
        )
        .await;
    let got = mock.get(&format!("{RECORDS}/{id}")).await.json();
    assert_eq!(
        got["record"]["data"],
        "\"heritage=edgio-ingress,owner=demo\""
    );
    // The admin dump shows records as the API does.
    let state = mock.admin("GET", "/__admin/state", None).await.json();
    assert_eq!(
        state["domains"][0]["records"][0]["data"],
        "\"heritage=edgio-ingress,owner=demo\""
    );
    mock.patch(&format!("{RECORDS}/{id}"), r#"{"data":"unquoted"}"#)
        .await
        .assert_error(400, "Record data must be enclosed in quotes");
}

#[tokio::test]
async fn every_validation_rule_answers_400_with_a_clear_error() {
    let mock = mock();
    mock.create_record(
        ZONE,
        json!({"name":"rr","type":"A","data":"192.0.2.1","ttl":60}),
    )
    .await;
    mock.create_record(
        ZONE,
        json!({"name":"alias","type":"CNAME","data":"target.example.net"}),
    )
    .await;
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"name":"t","type":"TXT","data":"no quotes"}),
            "Record data must be enclosed in quotes",
        ),
        (
            json!({"name":"t","type":"TXT","data":"\"left only"}),
            "Record data must be enclosed in quotes",
        ),
        (
            json!({"name":"t","type":"TXT","data":"right only\""}),
            "Record data must be enclosed in quotes",
        ),
        (
            json!({"name":"t","type":"TXT","data":"\"in\"side\""}),
            "quotes",
        ),
        (
            json!({"name":"rr","type":"A","data":"192.0.2.2","ttl":300}),
            "share one TTL",
        ),
        (
            json!({"name":"rr","type":"A","data":"192.0.2.2"}),
            "share one TTL",
        ),
        (
            json!({"name":"rr","type":"CNAME","data":"x.example.net"}),
            "CNAME",
        ),
        (
            json!({"name":"alias","type":"A","data":"192.0.2.3"}),
            "CNAME",
        ),
        (
            json!({"name":"alias","type":"CNAME","data":"other.example.net"}),
            "CNAME",
        ),
        (
            json!({"name":"","type":"CNAME","data":"x.example.net"}),
            "apex",
        ),
        (
            json!({"name":"rr","type":"A","data":"192.0.2.1","ttl":60}),
            "Duplicate",
        ),
        (
            json!({"name":"x","type":"PTR","data":"x.example.net"}),
            "Invalid record type",
        ),
        (json!({"name":"x","type":"A","data":"999.0.0.1"}), "IPv4"),
        (json!({"name":"x","type":"A","data":"2001:db8::1"}), "IPv4"),
        (json!({"name":"x","type":"AAAA","data":"192.0.2.1"}), "IPv6"),
        (
            json!({"name":"x","type":"CNAME","data":"not a host"}),
            "host name",
        ),
        (
            json!({"name":"x","type":"MX","data":"mail.example.com"}),
            "priority is required",
        ),
        (
            json!({"name":"x","type":"MX","data":"mail.example.com","priority":70000}),
            "priority",
        ),
        (
            json!({"name":"x","type":"SRV","data":"5060 sip.example.com","priority":1}),
            "SRV",
        ),
        (json!({"name":"x","type":"CAA","data":"garbage"}), "CAA"),
        (json!({"name":"x","type":"SSHFP","data":"1 1 zz"}), "SSHFP"),
        (
            json!({"name":"bad name","type":"A","data":"192.0.2.1"}),
            "Invalid record name",
        ),
        (
            json!({"name":"a.*","type":"A","data":"192.0.2.1"}),
            "Invalid record name",
        ),
        (
            json!({"name":"x","type":"A","data":"192.0.2.1","ttl":-5}),
            "ttl",
        ),
        (
            json!({"name":"x","type":"A","data":"192.0.2.1","ttl":"300"}),
            "ttl must be an integer",
        ),
        (
            json!({"name":"x","type":"A","data":"192.0.2.1","ttl":1.5}),
            "ttl must be an integer",
        ),
        (
            json!({"name":5,"type":"A","data":"192.0.2.1"}),
            "name must be a string",
        ),
        (json!({"type":"A","data":"192.0.2.1"}), "name is required"),
        (json!({"name":"x","data":"192.0.2.1"}), "type is required"),
        (json!({"name":"x","type":"A"}), "data is required"),
    ];
    for (body, message) in cases {
        mock.post(RECORDS, &body.to_string())
            .await
            .assert_error(400, message);
    }
    // Valid examples of every accepted type, for contrast.
    for body in [
        json!({"name":"v6","type":"AAAA","data":"2001:db8::1"}),
        json!({"name":"sub","type":"NS","data":"ns1.example.net"}),
        json!({"name":"","type":"MX","data":"mail.example.com","priority":10}),
        json!({"name":"_sip._tcp","type":"SRV","data":"5 5060 sip.example.com","priority":1}),
        json!({"name":"","type":"CAA","data":"0 issue \"letsencrypt.org\""}),
        json!({"name":"host","type":"SSHFP","data":"1 1 0123456789abcdef0123456789abcdef01234567"}),
        json!({"name":"*.wild","type":"A","data":"192.0.2.9"}),
    ] {
        mock.create_record(ZONE, body).await;
    }
    // The same rules hold on PATCH.
    let other = mock
        .create_record(
            ZONE,
            json!({"name":"other","type":"A","data":"192.0.2.50","ttl":60}),
        )
        .await;
    let path = format!("{RECORDS}/{other}");
    mock.patch(&path, r#"{"name":"rr","ttl":300}"#)
        .await
        .assert_error(400, "share one TTL");
    mock.patch(&path, r#"{"name":"rr","data":"192.0.2.1"}"#)
        .await
        .assert_error(400, "Duplicate");
    mock.patch(&path, r#"{"name":"alias"}"#)
        .await
        .assert_error(400, "CNAME");
    mock.patch(&path, r#"{"data":"nope"}"#)
        .await
        .assert_error(400, "IPv4");
    mock.patch(&path, r#"{"ttl":"x"}"#)
        .await
        .assert_error(400, "ttl must be an integer");
    assert_eq!(
        mock.patch(&path, r#"{"name":"rr","data":"192.0.2.51"}"#)
            .await
            .status,
        204
    );
    // Nothing invalid was stored.
    let total = mock.get(RECORDS).await.json()["meta"]["total"].clone();
    assert_eq!(total, 10);
}

#[tokio::test]
async fn malformed_requests_get_documented_errors() {
    let mock = mock();
    for (body, message) in [
        ("{\"name\":", "Invalid JSON"),
        ("not json", "Invalid JSON"),
        ("", "Invalid JSON"),
        ("[1,2]", "JSON object"),
        ("\"text\"", "JSON object"),
    ] {
        mock.post(RECORDS, body).await.assert_error(400, message);
        mock.post("/v2/domains", body)
            .await
            .assert_error(400, message);
    }
    mock.call("PUT", RECORDS, Some("{}"))
        .await
        .assert_error(405, "");
    for (path, status, message) in [
        ("/v2/nothing-here", 404, ""),
        // Rejections from the HTTP layer itself (here: a path that is not UTF-8) are JSON too.
        ("/v2/domains/%FF%FE/records", 400, ""),
        (
            "/v2/domains/example.com/records?per_page=0",
            400,
            "per_page",
        ),
        (
            "/v2/domains/example.com/records?per_page=501",
            400,
            "per_page",
        ),
        (
            "/v2/domains/example.com/records?per_page=lots",
            400,
            "per_page",
        ),
        (
            "/v2/domains/example.com/records?cursor=bm9wZQ",
            400,
            "cursor",
        ),
        ("/v2/domains?cursor=%%%", 400, "cursor"),
    ] {
        let reply = mock.get(path).await;
        assert_eq!(reply.status, status, "GET {path}: {}", reply.body);
        reply.assert_error(status, message);
    }
}

#[tokio::test]
async fn missing_or_wrong_key_is_401() {
    let mock = Mock::start(&[
        "--domain",
        ZONE,
        "--api-key",
        "first",
        "--api-key",
        "second",
    ]);
    for key in [None, Some("wrong"), Some(KEY)] {
        mock.call_as("GET", "/v2/domains", None, key)
            .await
            .assert_error(401, "API key");
    }
    // A non-Bearer scheme is refused too.
    let reply = mock
        .http
        .get(format!("{}/v2/domains", mock.api))
        .basic_auth("first", Some(""))
        .send()
        .await
        .expect("sent");
    assert_eq!(reply.status().as_u16(), 401);
    let lower_case_scheme = mock
        .http
        .get(format!("{}/v2/domains", mock.api))
        .header("authorization", "bearer second")
        .send()
        .await
        .expect("sent");
    assert_eq!(lower_case_scheme.status().as_u16(), 200);
    for key in ["first", "second"] {
        assert_eq!(
            mock.call_as("GET", "/v2/domains", None, Some(key))
                .await
                .status,
            200
        );
    }
    // The env var takes a comma list.
    let from_env = Mock::start_with_env(&[], &[("VULTR_MOCK_API_KEYS", "k1,k2")]);
    assert_eq!(
        from_env
            .call_as("GET", "/v2/domains", None, Some("k2"))
            .await
            .status,
        200
    );
    from_env
        .call_as("GET", "/v2/domains", None, Some(KEY))
        .await
        .assert_error(401, "");
}

/// Follows `links.next` from the first page; returns the ids in order and the number of pages.
async fn walk(mock: &Mock, per_page: Option<usize>, total: usize) -> (Vec<String>, usize) {
    let mut ids = Vec::new();
    let mut pages = 0;
    let mut cursor = String::new();
    loop {
        let mut path = format!("{RECORDS}?");
        if let Some(n) = per_page {
            path.push_str(&format!("per_page={n}&"));
        }
        if !cursor.is_empty() {
            path.push_str(&format!("cursor={cursor}"));
        }
        let page = mock.get(&path).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let body = page.json();
        assert_eq!(body["meta"]["total"], total);
        if pages == 0 {
            assert_eq!(body["meta"]["links"]["prev"], "");
        } else {
            assert_ne!(body["meta"]["links"]["prev"], "");
        }
        let records = body["records"].as_array().expect("records");
        assert!(records.len() <= per_page.unwrap_or(100));
        ids.extend(
            records
                .iter()
                .filter_map(|r| r["id"].as_str().map(str::to_string)),
        );
        pages += 1;
        cursor = body["meta"]["links"]["next"]
            .as_str()
            .expect("next is a string")
            .to_string();
        if cursor.is_empty() {
            return (ids, pages);
        }
        assert!(pages < 100, "pagination does not end");
    }
}

#[tokio::test]
async fn pagination_walks_more_than_a_thousand_records_with_cursors() {
    let mock = mock();
    const COUNT: usize = 1_050;
    let mut created = Vec::with_capacity(COUNT);
    for i in 0..COUNT {
        created.push(
            mock.create_record(
                ZONE,
                json!({"name": format!("n{}", i % 7), "type":"A",
                       "data": format!("10.0.{}.{}", i / 256, i % 256)}),
            )
            .await,
        );
    }

    let (ids, pages) = walk(&mock, None, COUNT).await;
    assert_eq!(pages, 11);
    assert_eq!(
        ids, created,
        "default pages list every record once, in creation order"
    );

    let (ids, pages) = walk(&mock, Some(500), COUNT).await;
    assert_eq!(pages, 3);
    assert_eq!(ids, created);

    // prev from the second page leads back to the first.
    let first = mock.get(&format!("{RECORDS}?per_page=300")).await.json();
    let next = first["meta"]["links"]["next"]
        .as_str()
        .expect("next")
        .to_string();
    let second = mock
        .get(&format!("{RECORDS}?per_page=300&cursor={next}"))
        .await
        .json();
    let prev = second["meta"]["links"]["prev"]
        .as_str()
        .expect("prev")
        .to_string();
    let back = mock
        .get(&format!("{RECORDS}?per_page=300&cursor={prev}"))
        .await
        .json();
    assert_eq!(back["records"], first["records"]);

    // Cursors stay valid while the zone changes: deleting the next page's first record does not
    // break the walk, and no record is listed twice.
    let doomed = second["records"][0]["id"].as_str().expect("id");
    assert_eq!(
        mock.delete(&format!("{RECORDS}/{doomed}")).await.status,
        204
    );
    let after = mock
        .get(&format!("{RECORDS}?per_page=300&cursor={next}"))
        .await
        .json();
    assert_eq!(after["records"][0]["id"], second["records"][1]["id"]);
    let (ids, _) = walk(&mock, Some(250), COUNT - 1).await;
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), COUNT - 1);
}

#[tokio::test]
async fn zones_and_default_ttl_come_from_flags_and_env() {
    let mock = Mock::start_with_env(
        &["--default-ttl", "120", "--rate-limit", "0"],
        &[("VULTR_MOCK_DOMAINS", "one.test, two.test")],
    );
    let all = mock.get("/v2/domains").await.json();
    let names: Vec<&str> = all["domains"]
        .as_array()
        .expect("domains")
        .iter()
        .filter_map(|d| d["domain"].as_str())
        .collect();
    assert_eq!(names, vec!["one.test", "two.test"]);
    let created = mock
        .post(
            "/v2/domains/two.test/records",
            r#"{"name":"x","type":"A","data":"192.0.2.1"}"#,
        )
        .await;
    assert_eq!(created.json()["record"]["ttl"], 120);
}
