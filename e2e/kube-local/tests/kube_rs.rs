//! Conformance suite driven by kube-rs against the real kube-local binary.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, ObjectReference, Service};
use k8s_openapi::api::events::v1::Event as K8sEvent;
use k8s_openapi::api::networking::v1::{Ingress, IngressClass};
use kube::api::{
    DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::runtime::{Controller, WatchStreamExt, controller::Action, finalizer, watcher};
use kube::{Api, Client, ResourceExt};
use serde_json::{Value, json};

use common::Server;

fn ingress(name: &str, host: &str) -> Ingress {
    serde_json::from_value(json!({
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": name},
        "spec": {"rules": [{"host": host, "http": {"paths": [{"path": "/", "pathType": "Prefix",
            "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]}
    }))
    .expect("ingress")
}

fn node_port_service(name: &str, node_port: Option<u16>) -> Service {
    let mut port = json!({"name": "http", "port": 80, "targetPort": 8000});
    if let Some(np) = node_port {
        port["nodePort"] = json!(np);
    }
    serde_json::from_value(
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
        "spec": {"type": "NodePort", "selector": {"app": name}, "ports": [port]}}),
    )
    .expect("service")
}

async fn namespace(client: &Client, name: &str) {
    let api: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": name}})).expect("ns");
    api.create(&PostParams::default(), &ns)
        .await
        .expect("create namespace");
}

fn api_code(e: &kube::Error) -> Option<u16> {
    match e {
        kube::Error::Api(s) => Some(s.code),
        _ => None,
    }
}

fn reason(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => s.reason.clone(),
        other => format!("{other}"),
    }
}

#[tokio::test]
async fn default_namespaces_and_kubernetes_service_exist_at_start() {
    let srv = Server::start(&[]);
    let client = srv.client().await;
    let names: Vec<String> = Api::<Namespace>::all(client.clone())
        .list(&ListParams::default())
        .await
        .expect("list")
        .iter()
        .map(|n| n.name_any())
        .collect();
    for want in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        assert!(
            names.contains(&want.to_string()),
            "{want} missing in {names:?}"
        );
    }
    let svc = Api::<Service>::namespaced(client, "default")
        .get("kubernetes")
        .await
        .expect("kubernetes svc");
    assert_eq!(
        svc.spec.and_then(|s| s.cluster_ip).as_deref(),
        Some("10.96.0.1")
    );
}

#[tokio::test]
async fn create_assigns_uid_generation_and_increasing_resource_versions() {
    let srv = Server::start(&[]);
    let client = srv.client().await;
    let api: Api<Ingress> = Api::namespaced(client.clone(), "default");
    let a = api
        .create(&PostParams::default(), &ingress("a", "a.example.com"))
        .await
        .expect("create a");
    let b = api
        .create(&PostParams::default(), &ingress("b", "b.example.com"))
        .await
        .expect("create b");
    assert!(a.metadata.uid.is_some());
    assert!(a.metadata.creation_timestamp.is_some());
    assert_eq!(a.metadata.generation, Some(1));
    let rv = |i: &Ingress| {
        i.resource_version()
            .and_then(|r| r.parse::<u64>().ok())
            .expect("numeric rv")
    };
    assert!(rv(&b) > rv(&a));
    let got = api.get("a").await.expect("get");
    assert_eq!(got.metadata.uid, a.metadata.uid);
    let err = api
        .create(&PostParams::default(), &ingress("a", "x.example.com"))
        .await
        .expect_err("duplicate");
    assert_eq!(
        (api_code(&err), reason(&err).as_str()),
        (Some(409), "AlreadyExists")
    );
    let mut generated = ingress("", "g.example.com");
    generated.metadata.name = None;
    generated.metadata.generate_name = Some("gen-".into());
    let g = api
        .create(&PostParams::default(), &generated)
        .await
        .expect("generateName");
    assert!(
        g.name_any().starts_with("gen-") && g.name_any().len() == 9,
        "{}",
        g.name_any()
    );
    let err = Api::<Ingress>::namespaced(client, "nope")
        .create(&PostParams::default(), &ingress("x", "x.example.com"))
        .await
        .expect_err("missing namespace");
    assert_eq!(api_code(&err), Some(404));
}

#[tokio::test]
async fn list_filters_by_label_and_field_selectors_and_pages_with_continue() {
    let srv = Server::start(&[]);
    let client = srv.client().await;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    for (name, labels) in [
        ("one", json!({"app": "pywai", "tier": "edge"})),
        ("two", json!({"app": "pywai"})),
        ("three", json!({"app": "other", "tier": "edge"})),
        ("four", json!({})),
    ] {
        let cm: ConfigMap =
            serde_json::from_value(json!({"metadata": {"name": name, "labels": labels}}))
                .expect("cm");
        api.create(&PostParams::default(), &cm)
            .await
            .expect("create");
    }
    let names = |l: kube::core::ObjectList<ConfigMap>| {
        l.items.iter().map(|c| c.name_any()).collect::<Vec<_>>()
    };
    let lp = ListParams::default;
    for (params, want) in [
        (lp().labels("app=pywai"), &["one", "two"][..]),
        (lp().labels("app in (pywai,other),tier!=edge"), &["two"]),
        (lp().labels("!tier"), &["four", "two"]),
        (lp().fields("metadata.name=three"), &["three"]),
        (lp().labels("nothing=here"), &[]),
    ] {
        let what = format!(
            "labels {:?} fields {:?}",
            params.label_selector, params.field_selector
        );
        let l = api.list(&params).await.expect(&what);
        assert_eq!(names(l), want, "{what}");
    }
    let err = api
        .list(&ListParams::default().fields("spec.x=y"))
        .await
        .expect_err("unknown field");
    assert_eq!(api_code(&err), Some(400));
    let page1 = api
        .list(&ListParams::default().limit(3))
        .await
        .expect("page 1");
    let token = page1.metadata.continue_.clone().expect("continue token");
    assert_eq!(page1.metadata.remaining_item_count, Some(1));
    let page2 = api
        .list(&ListParams::default().limit(3).continue_token(&token))
        .await
        .expect("page 2");
    assert_eq!(names(page1).len() + names(page2.clone()).len(), 4);
    assert!(page2.metadata.continue_.is_none());
}

#[tokio::test]
async fn stale_resource_version_is_a_conflict_and_no_op_keeps_version() {
    let srv = Server::start(&[]);
    let client = srv.client().await;
    let api: Api<Lease> = Api::namespaced(client, "kube-system");
    let lease: Lease = serde_json::from_value(json!({"metadata": {"name": "leader"},
        "spec": {"holderIdentity": "pod-a", "leaseDurationSeconds": 15,
                 "acquireTime": "2026-01-01T00:00:00.000000Z", "renewTime": "2026-01-01T00:00:00.000000Z"}}))
    .expect("lease");
    let created = api
        .create(&PostParams::default(), &lease)
        .await
        .expect("create");
    assert!(
        created.metadata.generation.is_none(),
        "leases have no generation"
    );
    let mut renew = created.clone();
    renew.spec.as_mut().expect("spec").renew_time =
        serde_json::from_value(json!("2026-01-01T00:00:05.000000Z")).expect("micro time");
    let renewed = api
        .replace("leader", &PostParams::default(), &renew)
        .await
        .expect("renew");
    assert_ne!(renewed.resource_version(), created.resource_version());
    let mut takeover = created.clone();
    takeover.spec.as_mut().expect("spec").holder_identity = Some("pod-b".into());
    let err = api
        .replace("leader", &PostParams::default(), &takeover)
        .await
        .expect_err("stale");
    assert_eq!(
        (api_code(&err), reason(&err).as_str()),
        (Some(409), "Conflict")
    );
    let same = api
        .replace("leader", &PostParams::default(), &renewed)
        .await
        .expect("no-op");
    assert_eq!(same.resource_version(), renewed.resource_version());
    let bad = json!({"spec": {"renewTime": "2026-01-01T00:00:05Z"}});
    let err = api
        .patch("leader", &PatchParams::default(), &Patch::Merge(&bad))
        .await
        .expect_err("micro time");
    assert_eq!(api_code(&err), Some(422));
}

#[tokio::test]
async fn status_subresource_and_main_resource_ignore_each_other() {
    let srv = Server::start(&[]);
    let client = srv.client().await;
    let api: Api<Ingress> = Api::namespaced(client, "default");
    let created = api
        .create(&PostParams::default(), &ingress("lb", "lb.example.com"))
        .await
        .expect("create");
    let status = json!({"status": {"loadBalancer": {"ingress": [{"hostname": "edge.example.net"}]}},
                        "spec": {"rules": []}});
    let s = api
        .patch_status("lb", &PatchParams::default(), &Patch::Merge(&status))
        .await
        .expect("status");
    let lb = s
        .status
        .as_ref()
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|l| l.ingress.clone())
        .unwrap_or_default();
    assert_eq!(lb[0].hostname.as_deref(), Some("edge.example.net"));
    assert_eq!(
        s.metadata.generation,
        Some(1),
        "status writes keep generation"
    );
    assert_eq!(
        s.spec
            .as_ref()
            .and_then(|sp| sp.rules.as_ref())
            .map(Vec::len),
        Some(1),
        "spec ignored on /status"
    );
    assert_ne!(s.resource_version(), created.resource_version());
    let main =
        json!({"status": {"loadBalancer": {"ingress": [{"hostname": "other.example.net"}]}}});
    let m = api
        .patch("lb", &PatchParams::default(), &Patch::Merge(&main))
        .await
        .expect("main");
    assert_eq!(
        m.resource_version(),
        s.resource_version(),
        "status on main resource is a no-op"
    );
    let spec = json!({"spec": {"rules": [{"host": "new.example.com", "http": {"paths": [{"path": "/", "pathType": "Prefix",
        "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]}});
    let m = api
        .patch("lb", &PatchParams::default(), &Patch::Merge(&spec))
        .await
        .expect("spec");
    assert_eq!(m.metadata.generation, Some(2));
}

#[tokio::test]
async fn merge_json_and_strategic_patches_treat_container_lists_differently() {
    let srv = Server::start(&[]);
    let client = srv.client().await;
    let api: Api<Deployment> = Api::namespaced(client, "default");
    let mk = |name: &str| -> Deployment {
        serde_json::from_value(json!({"metadata": {"name": name}, "spec": {"selector": {"matchLabels": {"app": "x"}},
            "template": {"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [
                {"name": "app", "image": "example/app:1.0", "ports": [{"containerPort": 8080}], "env": [{"name": "A", "value": "1"}]},
                {"name": "sidecar", "image": "example/sidecar:1.0"}]}}}}))
        .expect("deployment")
    };
    for n in ["merge", "json", "smp"] {
        let d = api
            .create(&PostParams::default(), &mk(n))
            .await
            .expect("create");
        let spec = d.spec.expect("spec");
        assert_eq!(spec.replicas, Some(1));
        assert_eq!(spec.revision_history_limit, Some(10));
        let c = &spec.template.spec.expect("pod spec").containers[0];
        assert_eq!(c.image_pull_policy.as_deref(), Some("IfNotPresent"));
        assert_eq!(
            c.ports.as_ref().expect("ports")[0].protocol.as_deref(),
            Some("TCP")
        );
    }
    let body = json!({"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "example/app:1.1",
        "env": [{"name": "B", "value": "2"}]}]}}}});
    let containers = |d: Deployment| {
        d.spec
            .and_then(|s| s.template.spec)
            .map(|p| p.containers)
            .unwrap_or_default()
    };
    let m = api
        .patch("merge", &PatchParams::default(), &Patch::Merge(&body))
        .await
        .expect("merge");
    assert_eq!(m.metadata.generation, Some(2));
    let cs = containers(m);
    assert_eq!(cs.len(), 1, "merge patch replaces the list");
    let s = api
        .patch("smp", &PatchParams::default(), &Patch::Strategic(&body))
        .await
        .expect("smp");
    let cs = containers(s);
    assert_eq!(cs.len(), 2, "strategic merge keeps sidecar");
    let env: Vec<String> = cs[0]
        .env
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(env, ["B", "A"]);
    let jp: json_patch::Patch = serde_json::from_value(json!([
        {"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "example/app:1.2"},
        {"op": "add", "path": "/spec/template/spec/containers/0/env/-", "value": {"name": "B", "value": "2"}}
    ]))
    .expect("json patch");
    let j = api
        .patch("json", &PatchParams::default(), &Patch::Json::<()>(jp))
        .await
        .expect("json");
    let cs = containers(j);
    assert_eq!(cs[0].image.as_deref(), Some("example/app:1.2"));
    assert_eq!(cs[0].env.as_ref().map(Vec::len), Some(2));
    let del = json!({"spec": {"template": {"spec": {"containers": [{"name": "sidecar", "$patch": "delete"}]}}}});
    let d = api
        .patch("smp", &PatchParams::default(), &Patch::Strategic(&del))
        .await
        .expect("delete directive");
    assert_eq!(containers(d).len(), 1);
    let bad: json_patch::Patch =
        serde_json::from_value(json!([{"op": "remove", "path": "/spec/nothing/here"}]))
            .expect("patch");
    let err = api
        .patch("json", &PatchParams::default(), &Patch::Json::<()>(bad))
        .await
        .expect_err("bad path");
    assert_eq!(api_code(&err), Some(422));
}

#[tokio::test]
async fn server_side_apply_creates_tracks_owners_and_conflicts_without_force() {
    let srv = Server::start(&[]);
    let client = srv.client().await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let cfg = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa", "labels": {"app": "x"}},
                     "data": {"a": "1", "b": "2"}});
    let created = api
        .patch("ssa", &PatchParams::apply("mgr-x"), &Patch::Apply(&cfg))
        .await
        .expect("apply create");
    let mf = created.metadata.managed_fields.clone().unwrap_or_default();
    assert_eq!(mf.len(), 1);
    assert_eq!(
        (mf[0].manager.as_deref(), mf[0].operation.as_deref()),
        (Some("mgr-x"), Some("Apply"))
    );
    let other = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa"}, "data": {"a": "changed"}});
    let err = api
        .patch("ssa", &PatchParams::apply("mgr-y"), &Patch::Apply(&other))
        .await
        .expect_err("conflict");
    assert_eq!(
        (api_code(&err), reason(&err).as_str()),
        (Some(409), "Conflict")
    );
    let forced = api
        .patch(
            "ssa",
            &PatchParams::apply("mgr-y").force(),
            &Patch::Apply(&other),
        )
        .await
        .expect("force");
    assert_eq!(
        forced
            .data
            .as_ref()
            .and_then(|d| d.get("a"))
            .map(String::as_str),
        Some("changed")
    );
    assert_eq!(
        forced
            .data
            .as_ref()
            .and_then(|d| d.get("b"))
            .map(String::as_str),
        Some("2")
    );
    let fewer = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa", "labels": {"app": "x"}},
                       "data": {"a": "1"}});
    let shrunk = api
        .patch(
            "ssa",
            &PatchParams::apply("mgr-x").force(),
            &Patch::Apply(&fewer),
        )
        .await
        .expect("shrink");
    assert!(
        shrunk.data.as_ref().is_some_and(|d| !d.contains_key("b")),
        "field dropped from config is removed"
    );
}

#[tokio::test]
async fn node_ports_are_allocated_honoured_and_refused_when_taken_or_out_of_range() {
    let srv = Server::start(&[]);
    let client = srv.client().await;
    let api: Api<Service> = Api::namespaced(client, "default");
    let auto = api
        .create(&PostParams::default(), &node_port_service("auto", None))
        .await
        .expect("auto");
    let spec = auto.spec.expect("spec");
    let np = spec.ports.as_ref().expect("ports")[0]
        .node_port
        .expect("nodePort allocated");
    assert!((30000..=32767).contains(&np));
    assert!(
        spec.cluster_ip
            .as_deref()
            .is_some_and(|ip| ip.starts_with("10.96."))
    );
    assert_eq!(spec.session_affinity.as_deref(), Some("None"));
    assert_eq!(spec.external_traffic_policy.as_deref(), Some("Cluster"));
    let fixed = api
        .create(
            &PostParams::default(),
            &node_port_service("fixed", Some(30080)),
        )
        .await
        .expect("fixed");
    assert_eq!(
        fixed.spec.and_then(|s| s.ports).expect("ports")[0].node_port,
        Some(30080)
    );
    let err = api
        .create(
            &PostParams::default(),
            &node_port_service("taken", Some(30080)),
        )
        .await
        .expect_err("taken");
    assert_eq!(
        (api_code(&err), reason(&err).as_str()),
        (Some(422), "Invalid")
    );
    let err = api
        .create(
            &PostParams::default(),
            &node_port_service("range", Some(40000)),
        )
        .await
        .expect_err("range");
    assert_eq!(api_code(&err), Some(422));
    api.delete("fixed", &DeleteParams::default())
        .await
        .expect("delete");
    api.create(
        &PostParams::default(),
        &node_port_service("again", Some(30080)),
    )
    .await
    .expect("released port reusable");
    // A replace without resourceVersion is refused for Services.
    let mut svc = api.get("again").await.expect("get");
    svc.metadata.resource_version = None;
    let err = api
        .replace("again", &PostParams::default(), &svc)
        .await
        .expect_err("no rv");
    assert_eq!(api_code(&err), Some(422));
}

#[tokio::test]
async fn default_ingress_class_is_filled_in_on_create_only_without_legacy_annotation() {
    let srv = Server::start(&[]);
    let client = srv.client().await;
    let classes: Api<IngressClass> = Api::all(client.clone());
    let class = |name: &str| -> IngressClass {
        serde_json::from_value(json!({"metadata": {"name": name,
            "annotations": {"ingressclass.kubernetes.io/is-default-class": "true"}},
            "spec": {"controller": "edgio-ingress.dev/controller"}}))
        .expect("class")
    };
    classes
        .create(&PostParams::default(), &class("edgio"))
        .await
        .expect("class");
    let api: Api<Ingress> = Api::namespaced(client, "default");
    let i = api
        .create(&PostParams::default(), &ingress("plain", "p.example.com"))
        .await
        .expect("create");
    assert_eq!(
        i.spec.and_then(|s| s.ingress_class_name).as_deref(),
        Some("edgio")
    );
    let mut legacy = ingress("legacy", "l.example.com");
    legacy.metadata.annotations = Some(
        [(
            "kubernetes.io/ingress.class".to_string(),
            "other".to_string(),
        )]
        .into(),
    );
    let l = api
        .create(&PostParams::default(), &legacy)
        .await
        .expect("legacy");
    assert!(l.spec.and_then(|s| s.ingress_class_name).is_none());
    let mut no_type = serde_json::to_value(ingress("nopt", "n.example.com")).expect("json");
    if let Some(p) = no_type
        .pointer_mut("/spec/rules/0/http/paths/0")
        .and_then(Value::as_object_mut)
    {
        p.remove("pathType");
    }
    let no_type: Ingress = serde_json::from_value(no_type).expect("ingress");
    let err = api
        .create(&PostParams::default(), &no_type)
        .await
        .expect_err("pathType required");
    assert_eq!(api_code(&err), Some(422));
    classes
        .create(&PostParams::default(), &class("second"))
        .await
        .expect("second default");
    let err = api
        .create(
            &PostParams::default(),
            &ingress("ambiguous", "a.example.com"),
        )
        .await
        .expect_err("two defaults");
    assert_eq!(
        (api_code(&err), reason(&err).as_str()),
        (Some(403), "Forbidden")
    );
}

#[tokio::test]
async fn finalizer_keeps_deleted_object_until_removed_and_watch_sees_deleted() {
    let srv = Server::start(&[]);
    let client = srv.client().await;
    let api: Api<Ingress> = Api::namespaced(client, "default");
    let mut ing = ingress("guarded", "g.example.com");
    ing.metadata.finalizers = Some(vec!["edgio-ingress.dev/cleanup".into()]);
    let created = api
        .create(&PostParams::default(), &ing)
        .await
        .expect("create");
    let rv = created.resource_version().expect("rv");
    let deleted = api
        .delete("guarded", &DeleteParams::default())
        .await
        .expect("delete");
    let obj = deleted
        .left()
        .expect("object returned while finalizers remain");
    assert!(obj.metadata.deletion_timestamp.is_some());
    assert_eq!(obj.metadata.generation, Some(2));
    let again = api
        .delete("guarded", &DeleteParams::default())
        .await
        .expect("delete again")
        .left()
        .expect("object");
    assert_eq!(again.resource_version(), obj.resource_version());
    let add = json!({"metadata": {"finalizers": ["edgio-ingress.dev/cleanup", "x/other"]}});
    let err = api
        .patch("guarded", &PatchParams::default(), &Patch::Merge(&add))
        .await
        .expect_err("no new finalizers");
    assert_eq!(api_code(&err), Some(422));
    let wrong: json_patch::Patch = serde_json::from_value(json!([
        {"op": "test", "path": "/metadata/finalizers/0", "value": "not-this"},
        {"op": "remove", "path": "/metadata/finalizers/0"}]))
    .expect("patch");
    let err = api
        .patch(
            "guarded",
            &PatchParams::default(),
            &Patch::Json::<()>(wrong),
        )
        .await
        .expect_err("test fails");
    assert_eq!(api_code(&err), Some(422));
    let remove: json_patch::Patch = serde_json::from_value(json!([
        {"op": "test", "path": "/metadata/finalizers/0", "value": "edgio-ingress.dev/cleanup"},
        {"op": "remove", "path": "/metadata/finalizers/0"}]))
    .expect("patch");
    api.patch(
        "guarded",
        &PatchParams::default(),
        &Patch::Json::<()>(remove),
    )
    .await
    .expect("remove finalizer");
    let err = api.get("guarded").await.expect_err("gone");
    assert_eq!(api_code(&err), Some(404));
    let mut stream = api
        .watch(&WatchParams::default().timeout(2).disable_bookmarks(), &rv)
        .await
        .expect("watch")
        .boxed();
    let mut kinds = Vec::new();
    while let Some(ev) = stream.try_next().await.expect("event") {
        kinds.push(match ev {
            WatchEvent::Added(_) => "ADDED",
            WatchEvent::Modified(_) => "MODIFIED",
            WatchEvent::Deleted(_) => "DELETED",
            WatchEvent::Bookmark(_) => "BOOKMARK",
            WatchEvent::Error(_) => "ERROR",
        });
    }
    assert_eq!(
        kinds,
        ["MODIFIED", "DELETED"],
        "second DELETE and refused patches emit nothing"
    );
    let quick = api
        .create(&PostParams::default(), &ingress("quick", "q.example.com"))
        .await
        .expect("create");
    let status = api
        .delete("quick", &DeleteParams::default())
        .await
        .expect("delete")
        .right()
        .expect("Status");
    assert_eq!(status.details.map(|d| d.uid), quick.metadata.uid);
}

#[tokio::test]
async fn watch_sends_bookmarks_and_label_selector_enter_leave_events() {
    let srv = Server::start(&["--bookmark-interval", "1"]);
    let client = srv.client().await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let list = api.list(&ListParams::default()).await.expect("list");
    let rv = list.metadata.resource_version.expect("list rv");
    let mut stream = api
        .watch(&WatchParams::default().labels("app=pywai").timeout(4), &rv)
        .await
        .expect("watch")
        .boxed();
    let cm: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "w", "labels": {"app": "pywai"}}}))
            .expect("cm");
    api.create(&PostParams::default(), &cm)
        .await
        .expect("create");
    let leave = json!({"metadata": {"labels": {"app": "other"}}});
    api.patch("w", &PatchParams::default(), &Patch::Merge(&leave))
        .await
        .expect("leave");
    let enter = json!({"metadata": {"labels": {"app": "pywai"}}});
    api.patch("w", &PatchParams::default(), &Patch::Merge(&enter))
        .await
        .expect("enter");
    api.patch("w", &PatchParams::default(), &Patch::Merge(&enter))
        .await
        .expect("no-op");
    let mut seen = Vec::new();
    while let Some(ev) = stream.try_next().await.expect("event") {
        match ev {
            WatchEvent::Added(_) => seen.push("ADDED"),
            WatchEvent::Modified(_) => seen.push("MODIFIED"),
            WatchEvent::Deleted(_) => seen.push("DELETED"),
            WatchEvent::Bookmark(b) => {
                assert!(!b.metadata.resource_version.is_empty());
                seen.push("BOOKMARK")
            }
            WatchEvent::Error(e) => panic!("unexpected error {e:?}"),
        }
    }
    let changes: Vec<&str> = seen.iter().copied().filter(|k| *k != "BOOKMARK").collect();
    assert_eq!(changes, ["ADDED", "DELETED", "ADDED"]);
    assert!(seen.contains(&"BOOKMARK"), "{seen:?}");
}

#[tokio::test]
async fn watch_from_expired_resource_version_gets_410_error_event() {
    let srv = Server::start(&["--watch-history", "5"]);
    let client = srv.client().await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let rv = api
        .list(&ListParams::default())
        .await
        .expect("list")
        .metadata
        .resource_version
        .expect("rv");
    for i in 0..10 {
        let cm: ConfigMap =
            serde_json::from_value(json!({"metadata": {"name": format!("c{i}")}})).expect("cm");
        api.create(&PostParams::default(), &cm)
            .await
            .expect("create");
    }
    let mut stream = api
        .watch(&WatchParams::default().timeout(5), &rv)
        .await
        .expect("200 then ERROR")
        .boxed();
    match stream.try_next().await.expect("event") {
        Some(WatchEvent::Error(e)) => {
            assert_eq!((e.code, e.reason.as_str()), (410, "Expired"));
        }
        other => panic!("expected a 410 ERROR event, got {other:?}"),
    }
    assert!(
        stream.try_next().await.expect("eof").is_none(),
        "stream ends after the error"
    );
    // kube-runtime's watcher recovers by re-listing and sees all ten objects.
    let seen = watcher(api.clone(), watcher::Config::default())
        .applied_objects()
        .take(10)
        .try_collect::<Vec<_>>();
    let seen = tokio::time::timeout(Duration::from_secs(10), seen)
        .await
        .expect("watcher in time")
        .expect("watcher");
    assert_eq!(seen.len(), 10);
}

#[derive(Debug, thiserror::Error)]
#[error("reconcile failed: {0}")]
struct ReconcileError(String);

#[tokio::test]
async fn controller_with_finalizer_reconciles_status_and_cleans_up_on_delete() {
    let srv = Server::start(&[]);
    let client = srv.client().await;
    namespace(&client, "ctl").await;
    let api: Api<Ingress> = Api::namespaced(client.clone(), "ctl");
    let cleanups = Arc::new(AtomicUsize::new(0));
    let ctx = Arc::new((api.clone(), cleanups.clone(), client.clone()));
    let controller = Controller::new(api.clone(), watcher::Config::default())
        .shutdown_on_signal()
        .run(
            |ing: Arc<Ingress>, ctx: Arc<(Api<Ingress>, Arc<AtomicUsize>, Client)>| async move {
                let (api, cleanups, client) = (&ctx.0, &ctx.1, &ctx.2);
                finalizer(api, "edgio-ingress.dev/cleanup", ing, |ev| async move {
                    match ev {
                        finalizer::Event::Apply(ing) => {
                            let name = ing.name_any();
                            let status = json!({"status": {"loadBalancer": {"ingress": [{"hostname": "demo.s.llnwi.net"}]}}});
                            api.patch_status(&name, &PatchParams::default(), &Patch::Merge(&status))
                                .await
                                .map_err(|e| ReconcileError(e.to_string()))?;
                            let reporter = Reporter { controller: "edgio-ingress.dev/controller".into(), instance: Some("test".into()) };
                            let recorder = Recorder::new(client.clone(), reporter);
                            let reference: ObjectReference = ObjectReference {
                                api_version: Some("networking.k8s.io/v1".into()), kind: Some("Ingress".into()),
                                name: Some(name.clone()), namespace: ing.namespace(), uid: ing.uid(), ..Default::default()
                            };
                            recorder
                                .publish(&Event { type_: EventType::Normal, reason: "Synced".into(), note: Some("CDN rule up to date".into()),
                                    action: "Reconcile".into(), secondary: None }, &reference)
                                .await
                                .map_err(|e| ReconcileError(e.to_string()))?;
                            Ok(Action::await_change())
                        }
                        finalizer::Event::Cleanup(_) => {
                            cleanups.fetch_add(1, Ordering::SeqCst);
                            Ok(Action::await_change())
                        }
                    }
                })
                .await
                .map_err(|e: finalizer::Error<ReconcileError>| ReconcileError(e.to_string()))
            },
            |_, _, _| Action::requeue(Duration::from_millis(200)),
            ctx,
        )
        .for_each(|_| async {});
    let handle = tokio::spawn(controller);
    api.create(&PostParams::default(), &ingress("web", "demo.example.com"))
        .await
        .expect("create");
    let published = async {
        loop {
            if let Ok(i) = api.get("web").await {
                let host = i
                    .status
                    .as_ref()
                    .and_then(|s| s.load_balancer.as_ref())
                    .and_then(|l| l.ingress.as_ref())
                    .and_then(|v| v.first())
                    .and_then(|e| e.hostname.clone());
                if host.as_deref() == Some("demo.s.llnwi.net") && i.finalizers().len() == 1 {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(15), published)
        .await
        .expect("status published with finalizer");
    // The Event is published right after the status patch; wait for it.
    let events: Api<K8sEvent> = Api::namespaced(client.clone(), "ctl");
    let synced = async {
        loop {
            let evs = events
                .list(&ListParams::default().fields("regarding.name=web"))
                .await
                .expect("events");
            if evs
                .items
                .iter()
                .any(|e| e.reason.as_deref() == Some("Synced"))
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), synced)
        .await
        .expect("Synced event listed by regarding.name");
    let core: Api<k8s_openapi::api::core::v1::Event> = Api::namespaced(client.clone(), "ctl");
    let core_evs = core
        .list(&ListParams::default().fields("involvedObject.name=web,involvedObject.kind=Ingress"))
        .await
        .expect("core events");
    assert!(
        core_evs
            .items
            .iter()
            .any(|e| e.message.as_deref() == Some("CDN rule up to date"))
    );
    api.delete("web", &DeleteParams::default())
        .await
        .expect("delete");
    let gone = async {
        while api.get("web").await.is_ok() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(15), gone)
        .await
        .expect("finalizer released");
    assert!(cleanups.load(Ordering::SeqCst) >= 1);
    handle.abort();
}

#[tokio::test]
async fn recorder_repeats_become_an_event_series() {
    let srv = Server::start(&[]);
    let client = srv.client().await;
    let reporter = Reporter {
        controller: "edgio-ingress.dev/controller".into(),
        instance: Some("pod-0".into()),
    };
    let recorder = Recorder::new(client.clone(), reporter);
    let reference = ObjectReference {
        kind: Some("Ingress".into()),
        api_version: Some("networking.k8s.io/v1".into()),
        name: Some("web".into()),
        namespace: Some("default".into()),
        ..Default::default()
    };
    let ev = Event {
        type_: EventType::Warning,
        reason: "ServiceNotFound".into(),
        note: Some("service web not found".into()),
        action: "Reconcile".into(),
        secondary: None,
    };
    recorder.publish(&ev, &reference).await.expect("first");
    recorder.publish(&ev, &reference).await.expect("second");
    let events: Api<K8sEvent> = Api::namespaced(client, "default");
    let list = events.list(&ListParams::default()).await.expect("list");
    assert_eq!(list.items.len(), 1);
    assert_eq!(list.items[0].series.as_ref().map(|s| s.count), Some(2));
    assert_eq!(list.items[0].type_.as_deref(), Some("Warning"));
}

#[tokio::test]
async fn namespace_deletion_removes_contents_then_namespace() {
    let srv = Server::start(&[]);
    let client = srv.client().await;
    namespace(&client, "doomed").await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "doomed");
    let cm: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "c"}})).expect("cm");
    cms.create(&PostParams::default(), &cm).await.expect("cm");
    let nss: Api<Namespace> = Api::all(client.clone());
    let ns = nss
        .delete("doomed", &DeleteParams::default())
        .await
        .expect("delete")
        .left()
        .expect("object");
    assert_eq!(
        ns.status.and_then(|s| s.phase).as_deref(),
        Some("Terminating")
    );
    let err = cms
        .create(&PostParams::default(), &cm)
        .await
        .expect_err("terminating");
    assert!(matches!(api_code(&err), Some(403) | Some(404)));
    let gone = async {
        while nss.get("doomed").await.is_ok() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), gone)
        .await
        .expect("namespace removed");
}

#[tokio::test]
async fn bearer_token_is_required_when_configured() {
    let srv = Server::start(&["--token", "s3cret"]);
    let client = srv.client().await;
    Api::<Namespace>::all(client)
        .list(&ListParams::default())
        .await
        .expect("kubeconfig carries the token");
    let no_auth = kube::Config::new(srv.url.parse().expect("url"));
    let anon = Client::try_from(no_auth).expect("client");
    let err = Api::<Namespace>::all(anon)
        .list(&ListParams::default())
        .await
        .expect_err("401");
    assert_eq!(api_code(&err), Some(401));
}

#[tokio::test]
async fn streaming_list_watcher_gets_initial_objects_and_init_done_bookmark() {
    let srv = Server::start(&[]);
    let client = srv.client().await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let cm = |n: &str| -> ConfigMap {
        serde_json::from_value(json!({"metadata": {"name": n}})).expect("cm")
    };
    api.create(&PostParams::default(), &cm("before"))
        .await
        .expect("create");
    let mut stream = watcher(api.clone(), watcher::Config::default().streaming_lists()).boxed();
    let mut initial = Vec::new();
    // InitDone only comes after the bookmark annotated k8s.io/initial-events-end.
    let init = async {
        loop {
            match stream.try_next().await.expect("watcher ok") {
                Some(watcher::Event::InitApply(c)) => initial.push(c.name_any()),
                Some(watcher::Event::InitDone) => return,
                Some(_) => {}
                None => panic!("stream ended"),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), init)
        .await
        .expect("InitDone in time");
    assert_eq!(initial, ["before"]);
    api.create(&PostParams::default(), &cm("after"))
        .await
        .expect("create");
    let next = tokio::time::timeout(Duration::from_secs(10), stream.try_next())
        .await
        .expect("in time")
        .expect("ok");
    assert!(matches!(next, Some(watcher::Event::Apply(c)) if c.name_any() == "after"));
}

#[tokio::test]
async fn server_side_apply_on_status_sets_status_only() {
    let srv = Server::start(&[]);
    let client = srv.client().await;
    let api: Api<Ingress> = Api::namespaced(client, "default");
    api.create(
        &PostParams::default(),
        &ingress("ssa-status", "s.example.com"),
    )
    .await
    .expect("create");
    let status = json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "spec": {"rules": []},
        "status": {"loadBalancer": {"ingress": [{"hostname": "demo.s.llnwi.net"}]}}});
    let out = api
        .patch_status(
            "ssa-status",
            &PatchParams::apply("edgio-ingress").force(),
            &Patch::Apply(&status),
        )
        .await
        .expect("apply status");
    let host = out
        .status
        .as_ref()
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|l| l.ingress.as_ref())
        .and_then(|v| v.first())
        .and_then(|e| e.hostname.clone());
    assert_eq!(host.as_deref(), Some("demo.s.llnwi.net"));
    assert_eq!(
        out.spec.and_then(|s| s.rules).map(|r| r.len()),
        Some(1),
        "spec untouched"
    );
    let mf = out.metadata.managed_fields.unwrap_or_default();
    let entry = mf
        .iter()
        .find(|m| m.manager.as_deref() == Some("edgio-ingress"))
        .expect("apply entry");
    assert_eq!(
        (entry.operation.as_deref(), entry.subresource.as_deref()),
        (Some("Apply"), Some("status"))
    );
}

#[tokio::test]
async fn service_updates_keep_allocated_node_port_and_cluster_ip() {
    let srv = Server::start(&[]);
    let client = srv.client().await;
    let api: Api<Service> = Api::namespaced(client, "default");
    let created = api
        .create(&PostParams::default(), &node_port_service("keep", None))
        .await
        .expect("create");
    let spec = created.spec.clone().expect("spec");
    let np = spec.ports.as_ref().expect("ports")[0].node_port;
    let ports = json!({"spec": {"ports": [{"name": "http", "port": 80, "targetPort": 8001}]}});
    let patched = api
        .patch("keep", &PatchParams::default(), &Patch::Merge(&ports))
        .await
        .expect("patch");
    let pspec = patched.spec.expect("spec");
    assert_eq!(
        pspec.ports.as_ref().expect("ports")[0].node_port,
        np,
        "allocated nodePort survives"
    );
    assert_eq!(pspec.cluster_ip, spec.cluster_ip);
    let to_cluster_ip = json!({"spec": {"type": "ClusterIP"}});
    let c = api
        .patch(
            "keep",
            &PatchParams::default(),
            &Patch::Merge(&to_cluster_ip),
        )
        .await
        .expect("type change");
    let cspec = c.spec.expect("spec");
    assert!(
        cspec.ports.expect("ports")[0].node_port.is_none(),
        "nodePort wiped on type change"
    );
    assert!(cspec.external_traffic_policy.is_none());
}

#[tokio::test]
async fn metadata_lists_and_watches_serve_partial_object_metadata() {
    let srv = Server::start(&[]);
    let client = srv.client().await;
    let api: Api<Service> = Api::namespaced(client, "default");
    api.create(&PostParams::default(), &node_port_service("meta", None))
        .await
        .expect("create");
    let list = api
        .list_metadata(&ListParams::default())
        .await
        .expect("metadata list");
    let names: Vec<String> = list.items.iter().map(|m| m.name_any()).collect();
    assert_eq!(names, ["kubernetes", "meta"]);
    let one = api.get_metadata("meta").await.expect("metadata get");
    assert_eq!(
        one.types.as_ref().map(|t| t.kind.as_str()),
        Some("PartialObjectMetadata")
    );
    let meta_api: Api<kube::core::PartialObjectMeta<Service>> =
        Api::namespaced(srv.client().await, "default");
    let seen = watcher(meta_api, watcher::Config::default())
        .applied_objects()
        .take(2)
        .try_collect::<Vec<_>>();
    let seen = tokio::time::timeout(Duration::from_secs(10), seen)
        .await
        .expect("in time")
        .expect("watcher");
    assert_eq!(seen.len(), 2);
}

#[tokio::test]
async fn emptied_finalizer_list_disappears_so_the_finalizer_helper_can_add_again() {
    let srv = Server::start(&[]);
    let client = srv.client().await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    let cm: ConfigMap = serde_json::from_value(
        json!({"metadata": {"name": "f", "finalizers": ["x/a"], "labels": {}}}),
    )
    .expect("cm");
    let created = api
        .create(&PostParams::default(), &cm)
        .await
        .expect("create");
    assert!(
        created.metadata.labels.is_none(),
        "empty labels are not stored"
    );
    let remove: json_patch::Patch =
        serde_json::from_value(json!([{"op": "remove", "path": "/metadata/finalizers/0"}]))
            .expect("patch");
    let out = api
        .patch("f", &PatchParams::default(), &Patch::Json::<()>(remove))
        .await
        .expect("remove");
    assert!(
        out.metadata.finalizers.is_none(),
        "{:?}",
        out.metadata.finalizers
    );
    let add: json_patch::Patch = serde_json::from_value(json!([
        {"op": "test", "path": "/metadata/finalizers", "value": null},
        {"op": "add", "path": "/metadata/finalizers", "value": ["x/b"]}]))
    .expect("patch");
    let out = api
        .patch("f", &PatchParams::default(), &Patch::Json::<()>(add))
        .await
        .expect("add");
    assert_eq!(out.metadata.finalizers, Some(vec!["x/b".to_string()]));
}

#[tokio::test]
async fn kube_runtime_watcher_relists_after_a_410_on_resume() {
    let srv = Server::start(&["--watch-history", "5"]);
    let client = srv.client().await;
    namespace(&client, "quiet").await;
    namespace(&client, "busy").await;
    let quiet: Api<ConfigMap> = Api::namespaced(client.clone(), "quiet");
    let busy: Api<ConfigMap> = Api::namespaced(client, "busy");
    let cm = |n: &str| -> ConfigMap {
        serde_json::from_value(json!({"metadata": {"name": n}})).expect("cm")
    };
    quiet
        .create(&PostParams::default(), &cm("first"))
        .await
        .expect("create");
    // Short watches, so any open watch ends soon and resumes from its last resourceVersion.
    let mut stream = watcher(quiet.clone(), watcher::Config::default().timeout(1)).boxed();
    assert!(matches!(
        next_event(&mut stream, "Init").await,
        watcher::Event::Init
    ));
    assert!(matches!(
        next_event(&mut stream, "InitApply").await,
        watcher::Event::InitApply(_)
    ));
    assert!(matches!(
        next_event(&mut stream, "InitDone").await,
        watcher::Event::InitDone
    ));
    // Changes elsewhere push the watcher's resourceVersion out of the history window before
    // its (lazily started or resumed) watch asks for it.
    for i in 0..10 {
        busy.create(&PostParams::default(), &cm(&format!("b{i}")))
            .await
            .expect("create");
    }
    // Its next resume gets the 410 ERROR event, which the watcher reports and then recovers
    // from by starting over with a fresh list.
    let err = tokio::time::timeout(Duration::from_secs(10), stream.try_next())
        .await
        .expect("410 in time");
    match err {
        Err(watcher::Error::WatchError(s)) => {
            assert_eq!((s.code, s.reason.as_str()), (410, "Expired"))
        }
        other => panic!("expected the 410 from the resumed watch, got {other:?}"),
    }
    assert!(matches!(
        next_event(&mut stream, "re-list").await,
        watcher::Event::Init
    ));
    assert!(
        matches!(next_event(&mut stream, "InitApply").await, watcher::Event::InitApply(c) if c.name_any() == "first")
    );
    assert!(matches!(
        next_event(&mut stream, "InitDone").await,
        watcher::Event::InitDone
    ));
    quiet
        .create(&PostParams::default(), &cm("second"))
        .await
        .expect("create");
    assert!(
        matches!(next_event(&mut stream, "Apply").await, watcher::Event::Apply(c) if c.name_any() == "second")
    );
}

async fn next_event<S>(stream: &mut S, what: &str) -> watcher::Event<ConfigMap>
where
    S: futures::Stream<Item = Result<watcher::Event<ConfigMap>, watcher::Error>> + Unpin,
{
    tokio::time::timeout(Duration::from_secs(10), stream.try_next())
        .await
        .unwrap_or_else(|_| panic!("{what} in time"))
        .expect("watcher ok")
        .expect("stream open")
}
