//! Reconcile scenarios against in-memory fake providers (see `crate::testing`).

use std::sync::Arc;

use k8s_openapi::api::core::v1::{Node, Service};
use k8s_openapi::api::networking::v1::Ingress;

use super::engine::{Engine, Outcome};
use crate::ingress::Cluster;
use crate::metrics::Metrics;
use crate::plan::{PlanSettings, RuleSpec};
use crate::testing::*;

struct World {
    cdn: FakeCdn,
    dns: FakeDns,
    engine: Engine,
    ingresses: Vec<Ingress>,
    services: Vec<Service>,
    nodes: Vec<Node>,
}

fn engine_for(cdn: &FakeCdn, dns: &FakeDns, settings: PlanSettings) -> Engine {
    Engine::new(
        Arc::new(cdn.clone()),
        Arc::new(dns.clone()),
        settings,
        Arc::new(Metrics::new()),
    )
}

impl World {
    fn new() -> Self {
        let (cdn, dns) = (FakeCdn::default(), FakeDns::default());
        let engine = engine_for(&cdn, &dns, settings("cluster-a"));
        Self {
            cdn,
            dns,
            engine,
            ingresses: vec![article_ingress()],
            services: vec![pywai_service()],
            nodes: vec![node("n1", &[("InternalIP", "10.0.0.1")])],
        }
    }

    fn cluster(&self) -> Cluster {
        cluster(&self.ingresses, &self.services, &self.nodes)
    }

    async fn publish(&self, idx: usize) -> Outcome {
        self.engine
            .publish(&self.cluster(), &self.ingresses[idx])
            .await
    }

    async fn publish_all(&self) -> Vec<Outcome> {
        let mut v = Vec::new();
        for i in 0..self.ingresses.len() {
            v.push(self.publish(i).await);
        }
        v
    }

    fn reset_calls(&self) {
        self.cdn.reset_calls();
        self.dns.reset_calls();
    }

    fn writes(&self) -> usize {
        self.cdn.calls().writes() + self.dns.calls().writes()
    }

    /// (host, path, sourcePort, marker) of every rule in the account, sorted.
    fn rules(&self) -> Vec<(String, String, Option<u16>, String)> {
        let mut v: Vec<_> = self
            .cdn
            .rules()
            .into_iter()
            .map(|r| {
                let port = r.spec.protocol_sets.first().and_then(|p| p.source_port);
                let marker = r.spec.marker().map(|m| m.to_string()).unwrap_or_default();
                (r.spec.published_host, r.spec.published_path, port, marker)
            })
            .collect();
        v.sort();
        v
    }
}

fn rule(host: &str, path: &str, port: u16, marker: &str) -> (String, String, Option<u16>, String) {
    (host.into(), path.into(), Some(port), marker.into())
}

const ARTICLE: &str = "cluster-a/default/external-pywai-inline-ingress";

#[tokio::test]
async fn creating_the_article_ingress_yields_the_rule_the_origin_records_and_the_status_host() {
    let w = World::new();
    let out = w.publish(0).await;
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert_eq!(
        w.rules(),
        vec![rule("demo.s.llnwi.net", "/fred", 30080, ARTICLE)]
    );
    assert_eq!(w.dns.a_records("origin"), vec!["10.0.0.1"]);
    let txt: Vec<_> = w
        .dns
        .records()
        .into_iter()
        .filter(|r| r.record_type == "TXT")
        .collect();
    assert_eq!(txt.len(), 1);
    assert_eq!(txt[0].name, "_edgio-ingress-owner.origin");
    assert_eq!(
        txt[0].data,
        "heritage=edgio-ingress,edgio-ingress/owner=cluster-a"
    );
    assert_eq!(out.hosts, vec!["demo.s.llnwi.net"]);
    let reasons: Vec<_> = out.notes.iter().map(|n| n.reason).collect();
    assert!(reasons.contains(&"Published"), "{reasons:?}");
    assert!(reasons.contains(&"LooseMatch"), "{reasons:?}");
}

#[tokio::test]
async fn steady_state_reconciles_make_no_writes_and_a_resync_lists_each_provider_once() {
    let mut w = World::new();
    w.ingresses.push(
        ingress("second")
            .path(
                "b.example.com",
                "/",
                "Prefix",
                "pywai-inline-service",
                Port::Name("http"),
            )
            .build(),
    );
    w.publish_all().await;
    w.reset_calls();
    for out in w.publish_all().await {
        assert_eq!(out.writes, 0);
        assert!(out.notes.iter().all(|n| n.reason != "Published"));
    }
    assert_eq!(
        w.cdn.calls().lists + w.dns.calls().lists,
        0,
        "reconciles re-listed"
    );
    // A resync: GC refreshes the shared snapshot once, then every Ingress reconciles from it.
    let gc = w.engine.collect_garbage(&w.cluster()).await;
    assert_eq!(gc.writes, 0);
    w.publish_all().await;
    assert_eq!(w.cdn.calls().lists, 1);
    assert_eq!(w.dns.calls().lists, 1);
    assert_eq!(w.writes(), 0);
}

#[tokio::test]
async fn editing_the_path_replaces_exactly_that_rule() {
    let mut w = World::new();
    w.publish(0).await;
    w.reset_calls();
    w.ingresses[0] = ingress("external-pywai-inline-ingress")
        .path(
            "demo.s.llnwi.net",
            "/bob",
            "Exact",
            "pywai-inline-service",
            Port::Name("http"),
        )
        .build();
    let out = w.publish(0).await;
    assert!(out.errors.is_empty());
    assert_eq!(
        w.rules(),
        vec![rule("demo.s.llnwi.net", "/bob", 30080, ARTICLE)]
    );
    assert_eq!(
        (
            w.cdn.calls().creates,
            w.cdn.calls().deletes,
            w.cdn.calls().updates
        ),
        (1, 1, 0)
    );
    assert_eq!(w.dns.calls().writes(), 0);
}

#[tokio::test]
async fn adding_a_path_and_a_host_only_creates_the_new_rules() {
    let mut w = World::new();
    w.publish(0).await;
    w.reset_calls();
    w.ingresses[0] = ingress("external-pywai-inline-ingress")
        .path(
            "demo.s.llnwi.net",
            "/fred",
            "Exact",
            "pywai-inline-service",
            Port::Name("http"),
        )
        .path(
            "demo.s.llnwi.net",
            "/wilma",
            "Prefix",
            "pywai-inline-service",
            Port::Name("http"),
        )
        .path(
            "other.s.llnwi.net",
            "/",
            "Prefix",
            "pywai-inline-service",
            Port::Name("http"),
        )
        .build();
    let out = w.publish(0).await;
    assert_eq!(
        w.cdn.calls(),
        Calls {
            lists: 0,
            creates: 2,
            updates: 0,
            deletes: 0
        }
    );
    assert_eq!(out.hosts, vec!["demo.s.llnwi.net", "other.s.llnwi.net"]);
    assert_eq!(w.rules().len(), 3);
}

#[tokio::test]
async fn switching_the_backend_port_and_a_node_port_change_update_the_rule_in_place() {
    let mut w = World::new();
    w.services = vec![service(
        "pywai-inline-service",
        "NodePort",
        &[("http", 80, Some(30080)), ("alt", 8080, Some(30081))],
    )];
    w.publish(0).await;
    w.reset_calls();
    w.ingresses[0] = ingress("external-pywai-inline-ingress")
        .path(
            "demo.s.llnwi.net",
            "/fred",
            "Exact",
            "pywai-inline-service",
            Port::Number(8080),
        )
        .build();
    w.publish(0).await;
    assert_eq!(
        w.cdn.calls(),
        Calls {
            lists: 0,
            creates: 0,
            updates: 1,
            deletes: 0
        }
    );
    assert_eq!(
        w.rules(),
        vec![rule("demo.s.llnwi.net", "/fred", 30081, ARTICLE)]
    );

    w.reset_calls();
    w.services = vec![service(
        "pywai-inline-service",
        "NodePort",
        &[("http", 80, Some(30080)), ("alt", 8080, Some(31111))],
    )];
    w.publish(0).await;
    assert_eq!(
        w.cdn.calls(),
        Calls {
            lists: 0,
            creates: 0,
            updates: 1,
            deletes: 0
        }
    );
    assert_eq!(
        w.rules(),
        vec![rule("demo.s.llnwi.net", "/fred", 31111, ARTICLE)]
    );
}

#[tokio::test]
async fn a_node_joining_and_leaving_is_followed_in_the_origin_records() {
    let mut w = World::new();
    w.publish(0).await;
    w.nodes.push(node("n2", &[("InternalIP", "10.0.0.2")]));
    w.reset_calls();
    w.publish(0).await;
    assert_eq!(w.dns.a_records("origin"), vec!["10.0.0.1", "10.0.0.2"]);
    assert_eq!(
        w.dns.calls(),
        Calls {
            lists: 0,
            creates: 1,
            updates: 0,
            deletes: 0
        }
    );
    assert_eq!(w.cdn.calls().writes(), 0);

    w.nodes.remove(0);
    w.reset_calls();
    w.publish(0).await;
    assert_eq!(w.dns.a_records("origin"), vec!["10.0.0.2"]);
    assert_eq!(
        w.dns.calls(),
        Calls {
            lists: 0,
            creates: 0,
            updates: 0,
            deletes: 1
        }
    );

    // The last node going away must not leave the name unresolvable.
    w.nodes.clear();
    let out = w.publish(0).await;
    assert_eq!(w.dns.a_records("origin"), vec!["10.0.0.2"]);
    assert!(out.notes.iter().any(|n| n.reason == "NoReadyNodes"));
}

#[tokio::test]
async fn deleting_the_ingress_removes_its_rule_and_then_the_origin_records() {
    let mut w = World::new();
    w.publish(0).await;
    let deleted = w.ingresses.remove(0);
    let out = w
        .engine
        .unpublish(
            &w.cluster(),
            "default",
            &deleted.metadata.name.clone().unwrap_or_default(),
        )
        .await;
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert!(w.rules().is_empty());
    assert!(w.dns.records().is_empty());
    assert!(out.notes.iter().any(|n| n.reason == "Unpublished"));
}

#[tokio::test]
async fn an_ingress_leaving_the_class_is_unpublished_while_the_origin_stays_for_the_others() {
    let mut w = World::new();
    w.ingresses.push(
        ingress("stays")
            .path(
                "b.example.com",
                "/",
                "Prefix",
                "pywai-inline-service",
                Port::Name("http"),
            )
            .build(),
    );
    w.publish_all().await;
    w.ingresses[0] = ingress("external-pywai-inline-ingress")
        .class(Some("nginx"))
        .finalizer()
        .build();
    assert_eq!(
        crate::ingress::lifecycle(&w.ingresses[0], &[], &w.engine.settings.class),
        crate::ingress::Lifecycle::Cleanup
    );
    w.engine
        .unpublish(&w.cluster(), "default", "external-pywai-inline-ingress")
        .await;
    assert_eq!(
        w.rules(),
        vec![rule("b.example.com", "/", 30080, "cluster-a/default/stays")]
    );
    assert_eq!(w.dns.a_records("origin"), vec!["10.0.0.1"]);
}

#[tokio::test]
async fn gc_removes_rules_of_ingresses_deleted_while_down_but_not_those_awaiting_their_finalizer() {
    let mut w = World::new();
    w.ingresses.push(
        ingress("finalizing")
            .path(
                "c.example.com",
                "/",
                "Prefix",
                "pywai-inline-service",
                Port::Name("http"),
            )
            .build(),
    );
    w.publish_all().await;
    // Both vanish from the cluster view; one still exists with our finalizer and is being deleted.
    w.ingresses = vec![ingress("finalizing").finalizer().deleting().build()];
    let restarted = engine_for(&w.cdn, &w.dns, settings("cluster-a"));
    let out = restarted.collect_garbage(&w.cluster()).await;
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    assert_eq!(
        w.rules(),
        vec![rule(
            "c.example.com",
            "/",
            30080,
            "cluster-a/default/finalizing"
        )]
    );
    assert_eq!(w.dns.a_records("origin"), vec!["10.0.0.1"]);

    w.ingresses.clear();
    restarted.collect_garbage(&w.cluster()).await;
    assert!(w.rules().is_empty());
    assert!(
        w.dns.records().is_empty(),
        "origin records outlived the last rule"
    );
}

#[tokio::test]
async fn hand_made_rules_and_records_are_never_touched() {
    let mut w = World::new();
    let mut hand_rule: RuleSpec = crate::plan::desired_rules(
        &crate::ingress::translate(&w.ingresses[0], &w.cluster()),
        &w.engine.settings.rules,
    )
    .remove(0);
    hand_rule.published_host = "hand.example.com".into();
    for p in &mut hand_rule.protocol_sets {
        p.options.clear();
    }
    w.cdn.insert(hand_rule.clone());
    w.dns.insert("www", "A", "203.0.113.7");
    w.dns.insert("", "TXT", "v=spf1 -all");
    let before_rules = w
        .cdn
        .rules()
        .into_iter()
        .filter(|r| r.uuid.starts_with("hand"))
        .collect::<Vec<_>>();
    let before_records = w.dns.records();

    w.publish(0).await;
    w.engine.collect_garbage(&w.cluster()).await;
    w.ingresses.clear();
    w.engine.collect_garbage(&w.cluster()).await;

    let after_rules = w.cdn.rules();
    assert_eq!(after_rules, before_rules);
    assert_eq!(w.dns.records(), before_records);
}

#[tokio::test]
async fn a_hand_made_origin_name_is_refused_but_the_rules_still_publish() {
    let w = World::new();
    w.dns.insert("origin", "A", "203.0.113.9");
    let out = w.publish(0).await;
    assert!(out.errors.iter().any(|e| e.reason() == "DnsNameTaken"));
    assert!(
        out.retryable_error().is_none(),
        "a refusal must not hot-loop"
    );
    assert_eq!(w.dns.a_records("origin"), vec!["203.0.113.9"]);
    assert_eq!(w.rules().len(), 1);
}

#[tokio::test]
async fn two_owner_ids_share_one_account_and_zone_without_touching_each_other() {
    let a = World::new();
    let b_engine = engine_for(
        &a.cdn,
        &a.dns,
        settings_with_origin("cluster-b", "origin-b.example.com", "origin-b"),
    );
    let b_ing = ingress("b-web")
        .path(
            "b.s.llnwi.net",
            "/b",
            "Prefix",
            "pywai-inline-service",
            Port::Name("http"),
        )
        .build();
    let b_cluster = cluster(
        std::slice::from_ref(&b_ing),
        &a.services,
        &[node("bn1", &[("InternalIP", "10.9.0.1")])],
    );

    a.publish(0).await;
    b_engine.publish(&b_cluster, &b_ing).await;
    assert_eq!(
        a.rules(),
        vec![
            rule("b.s.llnwi.net", "/b", 30080, "cluster-b/default/b-web"),
            rule("demo.s.llnwi.net", "/fred", 30080, ARTICLE),
        ]
    );
    assert_eq!(a.dns.a_records("origin"), vec!["10.0.0.1"]);
    assert_eq!(a.dns.a_records("origin-b"), vec!["10.9.0.1"]);

    // Each GC sees the other's rules and records and leaves them alone.
    a.engine.collect_garbage(&a.cluster()).await;
    b_engine.collect_garbage(&b_cluster).await;
    assert_eq!(a.rules().len(), 2);
    assert_eq!(a.dns.records().len(), 4);

    // B wanting A's host + path is a conflict: reported, and no write is even attempted.
    let clash = ingress("clash")
        .path(
            "demo.s.llnwi.net",
            "/fred",
            "Exact",
            "pywai-inline-service",
            Port::Name("http"),
        )
        .build();
    let clash_cluster = cluster(
        &[b_ing, clash.clone()],
        &a.services,
        &[node("bn1", &[("InternalIP", "10.9.0.1")])],
    );
    b_engine.invalidate().await;
    a.reset_calls();
    let out = b_engine.publish(&clash_cluster, &clash).await;
    assert!(
        out.notes.iter().any(|n| n.reason == "RuleConflict"),
        "{:?}",
        out.notes
    );
    let reasons: Vec<_> = out.errors.iter().map(|e| e.reason()).collect();
    assert_eq!(reasons, vec!["RuleConflict"]);
    assert!(
        out.retryable_error().is_none(),
        "a conflict must not hot-loop"
    );
    assert_eq!(a.cdn.calls().writes(), 0);
    assert_eq!(a.rules().len(), 2);

    // B cleaning up its Ingress leaves A's rule and records as they were.
    b_engine
        .unpublish(&cluster(&[], &a.services, &[]), "default", "b-web")
        .await;
    assert_eq!(
        a.rules(),
        vec![rule("demo.s.llnwi.net", "/fred", 30080, ARTICLE)]
    );
    assert_eq!(a.dns.a_records("origin"), vec!["10.0.0.1"]);
    assert!(a.dns.a_records("origin-b").is_empty());
}

#[tokio::test]
async fn a_conflict_found_only_by_the_server_is_reported_as_rule_conflict_and_not_retried() {
    let w = World::new();
    let out_before = w.publish(0).await;
    assert!(out_before.errors.is_empty());
    // Another account user creates the same host+path after our snapshot was taken.
    let mut theirs = w.cdn.rules()[0].spec.clone();
    theirs.published_path = "/new".into();
    for p in &mut theirs.protocol_sets {
        p.options.clear();
    }
    w.cdn.insert(theirs);
    let mut w = w;
    w.ingresses[0] = ingress("external-pywai-inline-ingress")
        .path(
            "demo.s.llnwi.net",
            "/new",
            "ImplementationSpecific",
            "pywai-inline-service",
            Port::Name("http"),
        )
        .build();
    let out = w.publish(0).await;
    let reasons: Vec<_> = out.errors.iter().map(|e| e.reason()).collect();
    assert_eq!(reasons, vec!["RuleConflict"]);
    assert!(out.retryable_error().is_none());
}

#[tokio::test]
async fn provider_outage_is_retryable_and_the_next_pass_converges_without_duplicates() {
    let w = World::new();
    w.cdn.fail_writes(Some(503));
    let out = w.publish(0).await;
    assert_eq!(
        out.retryable_error().map(|e| e.reason()),
        Some("CdnUnavailable")
    );
    assert!(w.rules().is_empty());
    w.cdn.fail_writes(None);
    let out = w.publish(0).await;
    assert!(out.errors.is_empty());
    assert_eq!(w.rules().len(), 1);
}

#[tokio::test]
async fn permanent_rejection_is_reported_and_not_retryable() {
    let w = World::new();
    w.cdn.fail_writes(Some(400));
    let out = w.publish(0).await;
    assert_eq!(
        out.errors.iter().map(|e| e.reason()).collect::<Vec<_>>(),
        vec!["CdnRejected"]
    );
    assert!(out.retryable_error().is_none());
}

#[tokio::test]
async fn a_missing_service_keeps_the_published_rule_instead_of_deleting_it() {
    let mut w = World::new();
    w.publish(0).await;
    w.services.clear();
    w.reset_calls();
    let out = w.publish(0).await;
    assert_eq!(w.cdn.calls().writes(), 0);
    assert_eq!(w.rules().len(), 1);
    assert!(out.notes.iter().any(|n| n.reason == "ServiceNotFound"));
    assert_eq!(out.skipped, vec!["ServiceNotFound"]);
    assert_eq!(out.hosts, vec!["demo.s.llnwi.net"]);
}

#[tokio::test]
async fn a_restarted_controller_adopts_its_rules_without_duplicates_and_repairs_drift() {
    let w = World::new();
    w.publish(0).await;
    let uuid = w.cdn.rules()[0].uuid.clone();
    // Someone edits our rule by hand while we are down.
    w.cdn
        .edit(&uuid, |s| s.protocol_sets[0].source_port = Some(1));
    let restarted = engine_for(&w.cdn, &w.dns, settings("cluster-a"));
    w.reset_calls();
    restarted.collect_garbage(&w.cluster()).await;
    let out = restarted.publish(&w.cluster(), &w.ingresses[0]).await;
    assert!(out.errors.is_empty());
    assert_eq!(
        w.cdn.calls(),
        Calls {
            lists: 1,
            creates: 0,
            updates: 1,
            deletes: 0
        }
    );
    assert_eq!(
        w.rules(),
        vec![rule("demo.s.llnwi.net", "/fred", 30080, ARTICLE)]
    );
    // A rule deleted by hand is recreated on the next resync.
    w.cdn.remove(&w.cdn.rules()[0].uuid);
    restarted.collect_garbage(&w.cluster()).await;
    restarted.publish(&w.cluster(), &w.ingresses[0]).await;
    assert_eq!(w.rules().len(), 1);
}
