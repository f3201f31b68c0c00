//! Test helpers in one place: builders for Ingresses, Services, Nodes and IngressClasses, and
//! in-memory fake providers that behave like the mocks (409 on a duplicate host + path +
//! protocol, 404 on unknown ids) and count every call.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use k8s_openapi::api::core::v1::{
    Node, NodeAddress, NodeCondition, NodeSpec, NodeStatus, Service, ServicePort, ServiceSpec,
};
use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, Ingress, IngressBackend, IngressClass, IngressClassSpec,
    IngressRule, IngressServiceBackend, IngressSpec, IngressTLS, ServiceBackendPort,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::ingress::{ClassConfig, Cluster};
use crate::names::{
    CDN_LABEL_KEY, CDN_LABEL_VALUE, DEFAULT_CLASS_ANNOTATION, FINALIZER, LEGACY_CLASS_ANNOTATION,
};
use crate::plan::{
    DnsRecord, DnsSettings, NewDnsRecord, OwnerId, PlanSettings, RemoteRule, RuleSettings, RuleSpec,
};
use crate::reconcile::{CdnApi, DnsApi, ProviderError};

pub const NS: &str = "default";
pub const CLASS: &str = "edgio";
pub const CONTROLLER: &str = "edgio-ingress.dev/controller";
pub const ORIGIN: &str = "origin.example.com";

// ------------------------------------------------------------------ Kubernetes objects

/// Builder for an Ingress of our class (`spec.ingressClassName: edgio`) in `default`.
#[derive(Clone)]
pub struct IngressBuilder {
    ing: Ingress,
}

pub fn ingress(name: &str) -> IngressBuilder {
    IngressBuilder {
        ing: Ingress {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some(NS.into()),
                uid: Some(format!("uid-{name}")),
                resource_version: Some("1".into()),
                ..ObjectMeta::default()
            },
            spec: Some(IngressSpec {
                ingress_class_name: Some(CLASS.into()),
                ..IngressSpec::default()
            }),
            status: None,
        },
    }
}

/// The article's Ingress: `demo.s.llnwi.net/fred` (Exact) → `pywai-inline-service:http`,
/// selected by label and legacy annotation.
pub fn article_ingress() -> Ingress {
    ingress("external-pywai-inline-ingress")
        .class(None)
        .annotation(LEGACY_CLASS_ANNOTATION, CLASS)
        .label(CDN_LABEL_KEY, CDN_LABEL_VALUE)
        .path(
            "demo.s.llnwi.net",
            "/fred",
            "Exact",
            "pywai-inline-service",
            Port::Name("http"),
        )
        .build()
}

#[derive(Clone, Copy)]
pub enum Port<'a> {
    Name(&'a str),
    Number(i32),
}

fn backend(service: &str, port: Port<'_>) -> IngressBackend {
    let port = match port {
        Port::Name(n) => ServiceBackendPort {
            name: Some(n.into()),
            number: None,
        },
        Port::Number(n) => ServiceBackendPort {
            name: None,
            number: Some(n),
        },
    };
    IngressBackend {
        service: Some(IngressServiceBackend {
            name: service.into(),
            port: Some(port),
        }),
        resource: None,
    }
}

impl IngressBuilder {
    fn spec(&mut self) -> &mut IngressSpec {
        self.ing.spec.get_or_insert_with(IngressSpec::default)
    }

    pub fn namespace(mut self, ns: &str) -> Self {
        self.ing.metadata.namespace = Some(ns.into());
        self
    }

    pub fn class(mut self, class: Option<&str>) -> Self {
        self.spec().ingress_class_name = class.map(str::to_string);
        self
    }

    pub fn annotation(mut self, key: &str, value: &str) -> Self {
        self.ing
            .metadata
            .annotations
            .get_or_insert_with(BTreeMap::new)
            .insert(key.into(), value.into());
        self
    }

    pub fn label(mut self, key: &str, value: &str) -> Self {
        self.ing
            .metadata
            .labels
            .get_or_insert_with(BTreeMap::new)
            .insert(key.into(), value.into());
        self
    }

    pub fn finalizer(mut self) -> Self {
        self.ing
            .metadata
            .finalizers
            .get_or_insert_with(Vec::new)
            .push(FINALIZER.into());
        self
    }

    pub fn deleting(mut self) -> Self {
        self.ing.metadata.deletion_timestamp =
            Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                k8s_openapi::jiff::Timestamp::UNIX_EPOCH,
            ));
        self
    }

    /// Adds a path under `host` (a new rule for a new host; `host` "" = a rule without host).
    pub fn path(
        mut self,
        host: &str,
        path: &str,
        path_type: &str,
        service: &str,
        port: Port<'_>,
    ) -> Self {
        let host_opt = (!host.is_empty()).then(|| host.to_string());
        let new_path = HTTPIngressPath {
            path: Some(path.into()),
            path_type: path_type.into(),
            backend: backend(service, port),
        };
        let rules = self.spec().rules.get_or_insert_with(Vec::new);
        match rules.iter_mut().find(|r| r.host == host_opt) {
            Some(rule) => rule
                .http
                .get_or_insert_with(Default::default)
                .paths
                .push(new_path),
            None => rules.push(IngressRule {
                host: host_opt,
                http: Some(HTTPIngressRuleValue {
                    paths: vec![new_path],
                }),
            }),
        }
        self
    }

    pub fn default_backend(mut self, service: &str, port: Port<'_>) -> Self {
        self.spec().default_backend = Some(backend(service, port));
        self
    }

    pub fn tls(mut self, hosts: &[&str], secret: &str) -> Self {
        self.spec()
            .tls
            .get_or_insert_with(Vec::new)
            .push(IngressTLS {
                hosts: Some(hosts.iter().map(|h| h.to_string()).collect()),
                secret_name: Some(secret.into()),
            });
        self
    }

    pub fn build(self) -> Ingress {
        self.ing
    }
}

/// A Service of `type_` in `default` with ports `(name, port, nodePort)`.
pub fn service(name: &str, type_: &str, ports: &[(&str, i32, Option<i32>)]) -> Service {
    Service {
        metadata: ObjectMeta {
            name: Some(name.into()),
            namespace: Some(NS.into()),
            ..ObjectMeta::default()
        },
        spec: Some(ServiceSpec {
            type_: Some(type_.into()),
            ports: Some(
                ports
                    .iter()
                    .map(|(n, p, np)| ServicePort {
                        name: (!n.is_empty()).then(|| n.to_string()),
                        port: *p,
                        node_port: *np,
                        ..ServicePort::default()
                    })
                    .collect(),
            ),
            ..ServiceSpec::default()
        }),
        status: None,
    }
}

/// The article's Service: NodePort, port 80 named `http`, nodePort 30080.
pub fn pywai_service() -> Service {
    service(
        "pywai-inline-service",
        "NodePort",
        &[("http", 80, Some(30080))],
    )
}

/// A Ready, schedulable node with `(type, address)` pairs.
pub fn node(name: &str, addresses: &[(&str, &str)]) -> Node {
    Node {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..ObjectMeta::default()
        },
        spec: Some(NodeSpec::default()),
        status: Some(NodeStatus {
            addresses: Some(
                addresses
                    .iter()
                    .map(|(t, a)| NodeAddress {
                        type_: (*t).into(),
                        address: (*a).into(),
                    })
                    .collect(),
            ),
            conditions: Some(vec![NodeCondition {
                type_: "Ready".into(),
                status: "True".into(),
                ..NodeCondition::default()
            }]),
            ..NodeStatus::default()
        }),
    }
}

pub fn not_ready(mut n: Node) -> Node {
    if let Some(cs) = n.status.as_mut().and_then(|s| s.conditions.as_mut()) {
        for c in cs {
            c.status = "False".into();
        }
    }
    n
}

pub fn cordoned(mut n: Node) -> Node {
    n.spec.get_or_insert_with(NodeSpec::default).unschedulable = Some(true);
    n
}

pub fn ingress_class(name: &str, controller: &str, default: bool) -> IngressClass {
    let mut annotations = BTreeMap::new();
    if default {
        annotations.insert(DEFAULT_CLASS_ANNOTATION.to_string(), "true".to_string());
    }
    IngressClass {
        metadata: ObjectMeta {
            name: Some(name.into()),
            annotations: Some(annotations),
            ..ObjectMeta::default()
        },
        spec: Some(IngressClassSpec {
            controller: Some(controller.into()),
            parameters: None,
        }),
    }
}

pub fn cluster(ingresses: &[Ingress], services: &[Service], nodes: &[Node]) -> Cluster {
    Cluster {
        ingresses: ingresses.iter().cloned().map(Arc::new).collect(),
        services: services.iter().cloned().map(Arc::new).collect(),
        nodes: nodes.iter().cloned().map(Arc::new).collect(),
        classes: Vec::new(),
    }
}

pub fn class_config() -> ClassConfig {
    ClassConfig {
        class_name: CLASS.into(),
        controller_name: CONTROLLER.into(),
        namespaces: Vec::new(),
        owner_id: "cluster-a".into(),
    }
}

pub fn settings(owner: &str) -> PlanSettings {
    settings_with_origin(owner, ORIGIN, "origin")
}

pub fn settings_with_origin(owner: &str, origin: &str, origin_name: &str) -> PlanSettings {
    let owner_id = OwnerId::parse(owner).unwrap_or_else(|e| panic!("test owner id: {e}"));
    PlanSettings {
        rules: RuleSettings {
            owner_id: owner_id.clone(),
            origin_hostname: origin.into(),
        },
        dns: DnsSettings {
            owner_id,
            origin_name: origin_name.into(),
            ttl: 60,
        },
        class: ClassConfig {
            owner_id: owner.into(),
            ..class_config()
        },
        node_address_types: vec!["ExternalIP".into(), "InternalIP".into()],
    }
}

// ------------------------------------------------------------------ fake providers

/// Calls seen by a fake, by kind.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Calls {
    pub lists: usize,
    pub creates: usize,
    pub updates: usize,
    pub deletes: usize,
}

impl Calls {
    pub fn writes(&self) -> usize {
        self.creates + self.updates + self.deletes
    }
}

#[derive(Default)]
struct CdnState {
    rules: Vec<RemoteRule>,
    next: u64,
    calls: Calls,
    /// Status code to fail every write with, e.g. 503.
    fail_writes: Option<u16>,
}

/// In-memory Edgio account. Clones share state, so two engines can share one account.
#[derive(Clone, Default)]
pub struct FakeCdn(Arc<Mutex<CdnState>>);

impl FakeCdn {
    fn lock(&self) -> std::sync::MutexGuard<'_, CdnState> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
    pub fn rules(&self) -> Vec<RemoteRule> {
        self.lock().rules.clone()
    }
    pub fn calls(&self) -> Calls {
        self.lock().calls.clone()
    }
    pub fn reset_calls(&self) {
        self.lock().calls = Calls::default();
    }
    pub fn fail_writes(&self, status: Option<u16>) {
        self.lock().fail_writes = status;
    }
    /// Adds a rule behind the controller's back (hand-made or another tool's); returns its uuid.
    pub fn insert(&self, spec: RuleSpec) -> String {
        let mut s = self.lock();
        s.next += 1;
        let uuid = format!("hand-{}", s.next);
        s.rules.push(RemoteRule {
            uuid: uuid.clone(),
            spec,
        });
        uuid
    }
    pub fn remove(&self, uuid: &str) {
        self.lock().rules.retain(|r| r.uuid != uuid);
    }
    pub fn edit(&self, uuid: &str, f: impl FnOnce(&mut RuleSpec)) {
        if let Some(r) = self.lock().rules.iter_mut().find(|r| r.uuid == uuid) {
            f(&mut r.spec);
        }
    }
}

fn collides(a: &RuleSpec, b: &RuleSpec) -> bool {
    a.key() == b.key()
        && a.published_protocols()
            .iter()
            .any(|p| b.published_protocols().contains(p))
}

#[async_trait]
impl CdnApi for FakeCdn {
    async fn list_rules(&self) -> Result<Vec<RemoteRule>, ProviderError> {
        let mut s = self.lock();
        s.calls.lists += 1;
        Ok(s.rules.clone())
    }

    async fn create_rule(&self, spec: &RuleSpec) -> Result<RemoteRule, ProviderError> {
        let mut s = self.lock();
        s.calls.creates += 1;
        if let Some(code) = s.fail_writes {
            return Err(ProviderError::http(
                "edgio",
                code,
                format!("injected {code}"),
            ));
        }
        if s.rules.iter().any(|r| collides(&r.spec, spec)) {
            return Err(ProviderError::http(
                "edgio",
                409,
                "duplicate host+path+protocol",
            ));
        }
        s.next += 1;
        let rule = RemoteRule {
            uuid: format!("uuid-{}", s.next),
            spec: spec.clone(),
        };
        s.rules.push(rule.clone());
        Ok(rule)
    }

    async fn replace_rule(&self, uuid: &str, spec: &RuleSpec) -> Result<RemoteRule, ProviderError> {
        let mut s = self.lock();
        s.calls.updates += 1;
        if let Some(code) = s.fail_writes {
            return Err(ProviderError::http(
                "edgio",
                code,
                format!("injected {code}"),
            ));
        }
        if s.rules
            .iter()
            .any(|r| r.uuid != uuid && collides(&r.spec, spec))
        {
            return Err(ProviderError::http(
                "edgio",
                409,
                "duplicate host+path+protocol",
            ));
        }
        match s.rules.iter_mut().find(|r| r.uuid == uuid) {
            Some(r) => {
                r.spec = spec.clone();
                Ok(r.clone())
            }
            None => Err(ProviderError::http("edgio", 404, "no such instance")),
        }
    }

    async fn delete_rule(&self, uuid: &str) -> Result<(), ProviderError> {
        let mut s = self.lock();
        s.calls.deletes += 1;
        if let Some(code) = s.fail_writes {
            return Err(ProviderError::http(
                "edgio",
                code,
                format!("injected {code}"),
            ));
        }
        s.rules.retain(|r| r.uuid != uuid);
        Ok(())
    }
}

#[derive(Default)]
struct DnsState {
    records: Vec<DnsRecord>,
    next: u64,
    calls: Calls,
}

/// In-memory Vultr zone. Clones share state.
#[derive(Clone, Default)]
pub struct FakeDns(Arc<Mutex<DnsState>>);

impl FakeDns {
    fn lock(&self) -> std::sync::MutexGuard<'_, DnsState> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
    pub fn records(&self) -> Vec<DnsRecord> {
        self.lock().records.clone()
    }
    pub fn calls(&self) -> Calls {
        self.lock().calls.clone()
    }
    pub fn reset_calls(&self) {
        self.lock().calls = Calls::default();
    }
    pub fn insert(&self, name: &str, record_type: &str, data: &str) -> String {
        let mut s = self.lock();
        s.next += 1;
        let id = format!("hand-{}", s.next);
        s.records.push(DnsRecord {
            id: id.clone(),
            name: name.into(),
            record_type: record_type.into(),
            data: data.into(),
            ttl: 300,
        });
        id
    }
    /// Sorted A record addresses at `name`.
    pub fn a_records(&self, name: &str) -> Vec<String> {
        let mut v: Vec<String> = self
            .records()
            .into_iter()
            .filter(|r| r.name == name && r.record_type == "A")
            .map(|r| r.data)
            .collect();
        v.sort();
        v
    }
}

#[async_trait]
impl DnsApi for FakeDns {
    async fn list_records(&self) -> Result<Vec<DnsRecord>, ProviderError> {
        let mut s = self.lock();
        s.calls.lists += 1;
        Ok(s.records.clone())
    }

    async fn create_record(&self, r: &NewDnsRecord) -> Result<DnsRecord, ProviderError> {
        let mut s = self.lock();
        s.calls.creates += 1;
        if s.records
            .iter()
            .any(|x| x.name == r.name && x.record_type == r.record_type && x.data == r.data)
        {
            return Err(ProviderError::http("vultr", 400, "duplicate record"));
        }
        if s.records
            .iter()
            .any(|x| x.name == r.name && x.record_type == r.record_type && x.ttl != r.ttl)
        {
            return Err(ProviderError::http("vultr", 400, "mixed TTLs"));
        }
        s.next += 1;
        let rec = DnsRecord {
            id: format!("rec-{}", s.next),
            name: r.name.clone(),
            record_type: r.record_type.clone(),
            data: r.data.clone(),
            ttl: r.ttl,
        };
        s.records.push(rec.clone());
        Ok(rec)
    }

    async fn delete_record(&self, id: &str) -> Result<(), ProviderError> {
        let mut s = self.lock();
        s.calls.deletes += 1;
        if !s.records.iter().any(|r| r.id == id) {
            return Err(ProviderError::http("vultr", 404, "no such record"));
        }
        s.records.retain(|r| r.id != id);
        Ok(())
    }
}
