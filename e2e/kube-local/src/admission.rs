//! Per-kind defaulting, admission and validation: what kube-apiserver's registry strategies and
//! admission plugins do for the served kinds (Service IP/port allocation, DefaultIngressClass,
//! Deployment defaults, Lease/Event MicroTime checks, name validation).

use std::collections::BTreeSet;

use rand::Rng;
use serde_json::{Map, Value, json};

use crate::errors::{ApiError, Cause};
use crate::resources::ResourceDef;
use crate::store::Txn;

pub const NODE_PORT_MIN: u64 = 30000;
pub const NODE_PORT_MAX: u64 = 32767;
const DEFAULT_CLASS_ANNOTATION: &str = "ingressclass.kubernetes.io/is-default-class";
const LEGACY_CLASS_ANNOTATION: &str = "kubernetes.io/ingress.class";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Create,
    Update,
}

const DNS1123_SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const DNS1123_LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1035_LABEL_MSG: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

pub fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

pub fn is_dns_subdomain(s: &str) -> bool {
    !s.is_empty() && s.len() <= 253 && s.split('.').all(is_dns_label)
}

/// Validates metadata.name according to the kind's naming rule.
pub fn validate_name(def: &ResourceDef, name: &str) -> Vec<Cause> {
    let v = json!(name);
    match def.kind {
        "Namespace" if !is_dns_label(name) => {
            vec![Cause::invalid("metadata.name", &v, DNS1123_LABEL_MSG)]
        }
        "Service"
            if !(is_dns_label(name) && name.starts_with(|c: char| c.is_ascii_lowercase())) =>
        {
            vec![Cause::invalid("metadata.name", &v, DNS1035_LABEL_MSG)]
        }
        // RBAC and events accept path-segment names; everything else is a DNS subdomain.
        "Role" | "ClusterRole" | "RoleBinding" | "ClusterRoleBinding" => {
            if name.contains('/') || name.contains('%') || name == "." || name == ".." {
                vec![Cause::invalid(
                    "metadata.name",
                    &v,
                    "may not contain '/' or '%'",
                )]
            } else {
                vec![]
            }
        }
        "Namespace" | "Service" => vec![],
        _ if !is_dns_subdomain(name) => {
            vec![Cause::invalid("metadata.name", &v, DNS1123_SUBDOMAIN_MSG)]
        }
        _ => vec![],
    }
}

fn obj_mut<'a>(v: &'a mut Value, key: &str) -> Option<&'a mut Map<String, Value>> {
    let m = v.as_object_mut()?;
    let e = m.entry(key.to_string()).or_insert_with(|| json!({}));
    if !e.is_object() {
        *e = json!({});
    }
    e.as_object_mut()
}

fn set_default(m: &mut Map<String, Value>, k: &str, v: Value) {
    if m.get(k).is_none_or(Value::is_null) {
        m.insert(k.into(), v);
    }
}

/// Defaults, admission and validation for one write. `old` is the stored object on update.
pub fn admit(
    def: &ResourceDef,
    op: Op,
    old: Option<&Value>,
    obj: &mut Value,
    txn: &Txn,
) -> Result<(), ApiError> {
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    match (def.group, def.kind) {
        ("", "Namespace") => {
            if let Some(spec) = obj_mut(obj, "spec") {
                set_default(spec, "finalizers", json!(["kubernetes"]));
            }
            if let Some(status) = obj_mut(obj, "status") {
                set_default(status, "phase", json!("Active"));
            }
            if let Some(meta) = obj_mut(obj, "metadata") {
                let labels = meta.entry("labels").or_insert_with(|| json!({}));
                if let Some(l) = labels.as_object_mut() {
                    l.insert("kubernetes.io/metadata.name".into(), json!(name));
                }
            }
            Ok(())
        }
        ("", "Service") => service(def, op, old, obj, txn, &name),
        ("networking.k8s.io", "Ingress") => ingress(def, op, obj, txn, &name),
        ("apps", "Deployment") | ("apps", "ReplicaSet") => {
            deployment(obj, def.kind == "Deployment");
            Ok(())
        }
        ("coordination.k8s.io", "Lease") => lease(def, obj, &name),
        ("", "Pod") => {
            if let Some(spec) = obj.get_mut("spec") {
                pod_spec(spec);
            }
            if op == Op::Create
                && let Some(status) = obj_mut(obj, "status")
            {
                set_default(status, "phase", json!("Pending"));
            }
            Ok(())
        }
        ("", "Secret") => {
            if let Some(m) = obj.as_object_mut() {
                set_default(m, "type", json!("Opaque"));
                // stringData is write-only: it is merged into data (base64) and never stored.
                if let Some(Value::Object(sd)) = m.remove("stringData") {
                    let data = m.entry("data").or_insert_with(|| json!({}));
                    if !data.is_object() {
                        *data = json!({});
                    }
                    if let Some(d) = data.as_object_mut() {
                        for (k, v) in sd {
                            let text = v
                                .as_str()
                                .map(String::from)
                                .unwrap_or_else(|| v.to_string());
                            d.insert(k, json!(crate::util::base64(text.as_bytes())));
                        }
                    }
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn allocated_node_ports(txn: &Txn, except: Option<(&str, &str)>) -> BTreeSet<u64> {
    let mut out = BTreeSet::new();
    for svc in txn.list("services", None) {
        let ns = svc
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or("");
        let n = svc
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("");
        if except == Some((ns, n)) {
            continue;
        }
        for p in svc
            .pointer("/spec/ports")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(np) = p.get("nodePort").and_then(Value::as_u64) {
                out.insert(np);
            }
        }
    }
    out
}

fn allocated_cluster_ips(txn: &Txn) -> BTreeSet<String> {
    txn.list("services", None)
        .iter()
        .filter_map(|s| {
            s.pointer("/spec/clusterIP")
                .and_then(Value::as_str)
                .map(String::from)
        })
        .collect()
}

fn service(
    def: &ResourceDef,
    op: Op,
    old: Option<&Value>,
    obj: &mut Value,
    txn: &Txn,
    name: &str,
) -> Result<(), ApiError> {
    let ns = obj
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let old_spec = old
        .and_then(|o| o.get("spec"))
        .cloned()
        .unwrap_or(json!({}));
    let Some(spec) = obj_mut(obj, "spec") else {
        return Ok(());
    };
    set_default(spec, "type", json!("ClusterIP"));
    let ty = spec
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("ClusterIP")
        .to_string();
    let wants_node_ports = ty == "NodePort" || ty == "LoadBalancer";
    let mut causes = Vec::new();
    if !["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"].contains(&ty.as_str()) {
        causes.push(Cause::not_supported(
            "spec.type",
            &json!(ty),
            &["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"],
        ));
    }
    // Keep allocated values across updates that omit them (patchAllocatedValues).
    if op == Op::Update {
        if spec.get("clusterIP").is_none_or(|v| v.as_str() == Some(""))
            && let Some(ip) = old_spec.get("clusterIP")
        {
            spec.insert("clusterIP".into(), ip.clone());
        }
        if spec.get("clusterIPs").is_none()
            && let Some(ips) = old_spec.get("clusterIPs")
        {
            spec.insert("clusterIPs".into(), ips.clone());
        }
        if wants_node_ports {
            let old_ports = old_spec
                .get("ports")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if let Some(ports) = spec.get_mut("ports").and_then(Value::as_array_mut) {
                for p in ports.iter_mut() {
                    if p.get("nodePort").is_none_or(|v| v.as_u64() == Some(0)) {
                        let same = old_ports.iter().find(|o| o.get("port") == p.get("port"));
                        if let (Some(np), Some(m)) =
                            (same.and_then(|o| o.get("nodePort")), p.as_object_mut())
                        {
                            m.insert("nodePort".into(), np.clone());
                        }
                    }
                }
            }
        }
        let old_ip = old_spec
            .get("clusterIP")
            .and_then(Value::as_str)
            .unwrap_or("");
        let new_ip = spec.get("clusterIP").and_then(Value::as_str).unwrap_or("");
        if !old_ip.is_empty() && old_ip != new_ip && ty != "ExternalName" {
            causes.push(Cause::invalid(
                "spec.clusterIP",
                &json!(new_ip),
                "field is immutable",
            ));
        }
    }
    set_default(spec, "sessionAffinity", json!("None"));
    if ty != "ExternalName" {
        // Modern servers wipe type-dependent fields when the type changes (dropTypeDependentFields).
        if !wants_node_ports {
            spec.remove("externalTrafficPolicy");
            if let Some(ports) = spec.get_mut("ports").and_then(Value::as_array_mut) {
                for p in ports.iter_mut().filter_map(Value::as_object_mut) {
                    p.remove("nodePort");
                }
            }
        } else {
            set_default(spec, "externalTrafficPolicy", json!("Cluster"));
        }
        set_default(spec, "internalTrafficPolicy", json!("Cluster"));
    }
    let mut used_names = BTreeSet::new();
    let mut taken = allocated_node_ports(txn, Some((&ns, name)));
    let mut rng = rand::rng();
    if let Some(ports) = spec.get_mut("ports").and_then(Value::as_array_mut) {
        for (i, p) in ports.iter_mut().enumerate() {
            let Some(pm) = p.as_object_mut() else {
                causes.push(Cause::invalid(
                    format!("spec.ports[{i}]"),
                    &Value::Null,
                    "must be an object",
                ));
                continue;
            };
            set_default(pm, "protocol", json!("TCP"));
            let port = pm.get("port").and_then(Value::as_i64).unwrap_or(0);
            if !(1..=65535).contains(&port) {
                causes.push(Cause::invalid(
                    format!("spec.ports[{i}].port"),
                    &json!(port),
                    "must be between 1 and 65535, inclusive",
                ));
            }
            let proto = pm.get("protocol").cloned().unwrap_or(Value::Null);
            if !["TCP", "UDP", "SCTP"].contains(&proto.as_str().unwrap_or("")) {
                causes.push(Cause::not_supported(
                    format!("spec.ports[{i}].protocol"),
                    &proto,
                    &["SCTP", "TCP", "UDP"],
                ));
            }
            if let Some(n) = pm.get("name").and_then(Value::as_str)
                && !used_names.insert(n.to_string())
            {
                causes.push(Cause::duplicate(format!("spec.ports[{i}].name"), &json!(n)));
            }
            if pm
                .get("targetPort")
                .is_none_or(|v| v.is_null() || v.as_i64() == Some(0))
            {
                pm.insert("targetPort".into(), json!(port));
            }
            if let Some(tp) = pm.get("targetPort").and_then(Value::as_i64)
                && !(1..=65535).contains(&tp)
            {
                causes.push(Cause::invalid(
                    format!("spec.ports[{i}].targetPort"),
                    &json!(tp),
                    "must be between 1 and 65535, inclusive",
                ));
            }
            if wants_node_ports {
                match pm.get("nodePort").and_then(Value::as_u64).filter(|n| *n != 0) {
                    Some(np) if !(NODE_PORT_MIN..=NODE_PORT_MAX).contains(&np) => causes.push(Cause::invalid(
                        format!("spec.ports[{i}].nodePort"),
                        &json!(np),
                        &format!("provided port is not in the valid range. The range of valid ports is {NODE_PORT_MIN}-{NODE_PORT_MAX}"),
                    )),
                    Some(np) if taken.contains(&np) => causes.push(Cause::invalid(
                        format!("spec.ports[{i}].nodePort"),
                        &json!(np),
                        "provided port is already allocated",
                    )),
                    Some(np) => {
                        taken.insert(np);
                    }
                    None => {
                        let free = (0..2000)
                            .map(|_| rng.random_range(NODE_PORT_MIN..=NODE_PORT_MAX))
                            .find(|c| !taken.contains(c))
                            .or_else(|| (NODE_PORT_MIN..=NODE_PORT_MAX).find(|c| !taken.contains(c)));
                        match free {
                            Some(np) => {
                                taken.insert(np);
                                pm.insert("nodePort".into(), json!(np));
                            }
                            None => causes.push(Cause::invalid(format!("spec.ports[{i}].nodePort"), &json!(0), "range is full")),
                        }
                    }
                }
            }
        }
    }
    if ty != "ExternalName" && spec.get("clusterIP").is_none_or(|v| v.as_str() == Some("")) {
        let used = allocated_cluster_ips(txn);
        let ip = (0..5000)
            .map(|_| {
                let n: u32 = rng.random_range(2..65534);
                format!("10.96.{}.{}", n >> 8, n & 0xff)
            })
            .find(|ip| !used.contains(ip) && !ip.ends_with(".0") && !ip.ends_with(".255"));
        match ip {
            Some(ip) => {
                spec.insert("clusterIP".into(), json!(ip));
            }
            None => causes.push(Cause::invalid(
                "spec.clusterIP",
                &json!(""),
                "range is full",
            )),
        }
    }
    if ty != "ExternalName"
        && let Some(ip) = spec.get("clusterIP").cloned()
    {
        if ip.as_str() != Some("None") {
            set_default(spec, "clusterIPs", json!([ip]));
        } else {
            set_default(spec, "clusterIPs", json!(["None"]));
        }
        set_default(spec, "ipFamilies", json!(["IPv4"]));
        set_default(spec, "ipFamilyPolicy", json!("SingleStack"));
    }
    if let Some(status) = obj_mut(obj, "status") {
        set_default(status, "loadBalancer", json!({}));
    }
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(def, name, causes))
    }
}

/// The IngressClass marked default, or 403 when several are.
fn default_ingress_class(txn: &Txn, name: &str) -> Result<Option<String>, ApiError> {
    let defaults: Vec<String> = txn
        .list("ingressclasses.networking.k8s.io", None)
        .iter()
        .filter(|c| {
            c.pointer("/metadata/annotations")
                .and_then(|a| a.get(DEFAULT_CLASS_ANNOTATION))
                .and_then(Value::as_str)
                == Some("true")
        })
        .filter_map(|c| {
            c.pointer("/metadata/name")
                .and_then(Value::as_str)
                .map(String::from)
        })
        .collect();
    if defaults.len() > 1 {
        return Err(ApiError::Forbidden {
            message: format!(
                "ingresses.networking.k8s.io \"{name}\" is forbidden: Internal error occurred: {} default IngressClasses were found, only 1 allowed",
                defaults.len()
            ),
            resource: "ingresses".into(),
            name: name.into(),
            causes: vec![],
        });
    }
    Ok(defaults.into_iter().next())
}

fn ingress(
    def: &ResourceDef,
    op: Op,
    obj: &mut Value,
    txn: &Txn,
    name: &str,
) -> Result<(), ApiError> {
    if op == Op::Create {
        let has_class = obj
            .pointer("/spec/ingressClassName")
            .is_some_and(|v| !v.is_null());
        let legacy = obj
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(LEGACY_CLASS_ANNOTATION))
            .is_some();
        if !has_class
            && !legacy
            && let Some(class) = default_ingress_class(txn, name)?
            && let Some(spec) = obj_mut(obj, "spec")
        {
            // The admission plugin's field comes first in spec.
            let mut m = Map::new();
            m.insert("ingressClassName".into(), json!(class));
            m.extend(std::mem::take(spec));
            *spec = m;
        }
    }
    if let Some(status) = obj_mut(obj, "status") {
        set_default(status, "loadBalancer", json!({}));
    }
    let mut causes = Vec::new();
    let check_backend = |b: &Value, field: &str, causes: &mut Vec<Cause>| {
        if let Some(svc) = b.get("service") {
            let port = svc.get("port");
            let has = port.is_some_and(|p| {
                p.get("name")
                    .is_some_and(|n| n.as_str().is_some_and(|s| !s.is_empty()))
                    || p.get("number")
                        .is_some_and(|n| n.as_i64().is_some_and(|n| n != 0))
            });
            if !has {
                causes.push(Cause::required(field, "port name or number is required"));
            }
        } else if b.get("resource").is_none() {
            causes.push(Cause::invalid(
                field,
                &json!(""),
                "resource or service must be specified",
            ));
        }
    };
    if let Some(b) = obj.pointer("/spec/defaultBackend") {
        check_backend(b, "spec.defaultBackend", &mut causes);
    }
    let rules = obj
        .pointer("/spec/rules")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for (i, rule) in rules.iter().enumerate() {
        if let Some(host) = rule.get("host").and_then(Value::as_str) {
            let ok = match host.strip_prefix("*.") {
                Some(rest) => is_dns_subdomain(rest),
                None => is_dns_subdomain(host),
            };
            if !ok && !host.is_empty() {
                let msg = if host.contains('*') {
                    "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character (e.g. '*.example.com', regex used for validation is '\\*\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
                } else {
                    DNS1123_SUBDOMAIN_MSG
                };
                causes.push(Cause::invalid(
                    format!("spec.rules[{i}].host"),
                    &json!(host),
                    msg,
                ));
            }
        }
        let paths = rule
            .pointer("/http/paths")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for (j, p) in paths.iter().enumerate() {
            let field = format!("spec.rules[{i}].http.paths[{j}]");
            match p.get("pathType").and_then(Value::as_str) {
                None => causes.push(Cause::required(
                    format!("{field}.pathType"),
                    "pathType must be specified",
                )),
                Some(pt) if !["Exact", "Prefix", "ImplementationSpecific"].contains(&pt) => causes
                    .push(Cause::not_supported(
                        format!("{field}.pathType"),
                        &json!(pt),
                        &["Exact", "ImplementationSpecific", "Prefix"],
                    )),
                Some(_) => {}
            }
            if let Some(path) = p.get("path").and_then(Value::as_str)
                && !path.starts_with('/')
            {
                causes.push(Cause::invalid(
                    format!("{field}.path"),
                    &json!(path),
                    "must be an absolute path",
                ));
            }
            match p.get("backend") {
                Some(b) => check_backend(b, &format!("{field}.backend"), &mut causes),
                None => causes.push(Cause::required(format!("{field}.backend"), "")),
            }
        }
    }
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(def, name, causes))
    }
}

fn pod_spec(spec: &mut Value) {
    let Some(s) = spec.as_object_mut() else {
        return;
    };
    for list in ["containers", "initContainers"] {
        if let Some(cs) = s.get_mut(list).and_then(Value::as_array_mut) {
            for c in cs.iter_mut().filter_map(Value::as_object_mut) {
                set_default(c, "resources", json!({}));
                set_default(c, "terminationMessagePath", json!("/dev/termination-log"));
                set_default(c, "terminationMessagePolicy", json!("File"));
                let image = c.get("image").and_then(Value::as_str).unwrap_or("");
                let last = image.rsplit('/').next().unwrap_or("");
                let latest = !last.contains(':') || last.ends_with(":latest");
                let digest = image.contains('@');
                set_default(
                    c,
                    "imagePullPolicy",
                    json!(if latest && !digest {
                        "Always"
                    } else {
                        "IfNotPresent"
                    }),
                );
                if let Some(ps) = c.get_mut("ports").and_then(Value::as_array_mut) {
                    for p in ps.iter_mut().filter_map(Value::as_object_mut) {
                        set_default(p, "protocol", json!("TCP"));
                    }
                }
                for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
                    if let Some(pr) = c.get_mut(probe).and_then(Value::as_object_mut) {
                        set_default(pr, "timeoutSeconds", json!(1));
                        set_default(pr, "periodSeconds", json!(10));
                        set_default(pr, "successThreshold", json!(1));
                        set_default(pr, "failureThreshold", json!(3));
                        if let Some(h) = pr.get_mut("httpGet").and_then(Value::as_object_mut) {
                            set_default(h, "scheme", json!("HTTP"));
                        }
                    }
                }
            }
        }
    }
    set_default(s, "restartPolicy", json!("Always"));
    set_default(s, "terminationGracePeriodSeconds", json!(30));
    set_default(s, "dnsPolicy", json!("ClusterFirst"));
    set_default(s, "securityContext", json!({}));
    set_default(s, "schedulerName", json!("default-scheduler"));
}

fn deployment(obj: &mut Value, is_deployment: bool) {
    let Some(spec) = obj_mut(obj, "spec") else {
        return;
    };
    set_default(spec, "replicas", json!(1));
    if let Some(tpl) = spec.get_mut("template").and_then(Value::as_object_mut) {
        let meta = tpl.entry("metadata").or_insert_with(|| json!({}));
        if let Some(m) = meta.as_object_mut() {
            m.entry("creationTimestamp").or_insert(Value::Null);
        }
        if let Some(ps) = tpl.get_mut("spec") {
            pod_spec(ps);
        }
    }
    if is_deployment {
        set_default(
            spec,
            "strategy",
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}),
        );
        set_default(spec, "revisionHistoryLimit", json!(10));
        set_default(spec, "progressDeadlineSeconds", json!(600));
    }
    if let Some(m) = obj.as_object_mut() {
        m.entry("status").or_insert_with(|| json!({}));
    }
}

fn lease(def: &ResourceDef, obj: &mut Value, name: &str) -> Result<(), ApiError> {
    if let Some(d) = obj
        .pointer("/spec/leaseDurationSeconds")
        .and_then(Value::as_i64)
        && d <= 0
    {
        return Err(ApiError::Invalid {
            group: "coordination.k8s.io".into(),
            kind: def.kind.into(),
            name: name.into(),
            causes: vec![Cause::invalid(
                "spec.leaseDurationSeconds",
                &json!(d),
                "must be greater than 0",
            )],
        });
    }
    Ok(())
}

/// MicroTime fields per kind (decode-level checks; see events.rs).
pub fn micro_time_fields(def: &ResourceDef) -> &'static [&'static str] {
    match (def.group, def.kind) {
        ("coordination.k8s.io", "Lease") => &["/spec/acquireTime", "/spec/renewTime"],
        (_, "Event") => &["/eventTime", "/series/lastObservedTime"],
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_names_follow_rfc1123() {
        assert!(is_dns_subdomain("web.example.com"));
        assert!(!is_dns_subdomain("Bad_Name"));
        assert!(is_dns_label("kube-system"));
        assert!(!is_dns_label("-x"));
    }

    #[test]
    fn deployment_gets_server_defaults() {
        let mut d = json!({"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "example/app:1.0",
            "ports": [{"containerPort": 8080}]}]}}}});
        deployment(&mut d, true);
        assert_eq!(d["spec"]["replicas"], 1);
        assert_eq!(d["spec"]["revisionHistoryLimit"], 10);
        let c = &d["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(c["imagePullPolicy"], "IfNotPresent");
        assert_eq!(c["ports"][0]["protocol"], "TCP");
        assert_eq!(
            d["spec"]["template"]["metadata"]["creationTimestamp"],
            Value::Null
        );
        assert_eq!(d["status"], json!({}));
    }
}
