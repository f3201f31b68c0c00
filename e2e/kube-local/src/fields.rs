//! `fieldValidation=Strict` (what kubectl sends) for the outer layers of an object: top-level
//! fields, `metadata`, and `spec` of the kinds this project applies. Deeper levels are not
//! checked (no OpenAPI schemas here); unknown fields there are stored as sent.

use serde_json::Value;

const OBJECT_META: &[&str] = &[
    "name",
    "generateName",
    "namespace",
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
];

/// Known top-level fields per kind (besides apiVersion, kind, metadata); None = not checked.
fn top_level(group: &str, kind: &str) -> Option<&'static [&'static str]> {
    Some(match (group, kind) {
        ("", "Namespace" | "Node" | "Pod" | "Service")
        | ("apps", "Deployment" | "ReplicaSet")
        | ("networking.k8s.io", "Ingress") => &["spec", "status"],
        ("networking.k8s.io", "IngressClass") | ("coordination.k8s.io", "Lease") => &["spec"],
        ("", "ConfigMap") => &["data", "binaryData", "immutable"],
        ("", "Secret") => &["data", "stringData", "type", "immutable"],
        ("", "ServiceAccount") => &[
            "secrets",
            "imagePullSecrets",
            "automountServiceAccountToken",
        ],
        ("", "Endpoints") => &["subsets"],
        ("discovery.k8s.io", "EndpointSlice") => &["addressType", "endpoints", "ports"],
        ("rbac.authorization.k8s.io", "Role") => &["rules"],
        ("rbac.authorization.k8s.io", "ClusterRole") => &["rules", "aggregationRule"],
        ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding") => {
            &["subjects", "roleRef"]
        }
        _ => return None,
    })
}

fn spec_fields(group: &str, kind: &str) -> Option<&'static [&'static str]> {
    Some(match (group, kind) {
        ("networking.k8s.io", "Ingress") => &["defaultBackend", "ingressClassName", "rules", "tls"],
        ("networking.k8s.io", "IngressClass") => &["controller", "parameters"],
        ("", "Service") => &[
            "ports",
            "selector",
            "clusterIP",
            "clusterIPs",
            "type",
            "externalIPs",
            "sessionAffinity",
            "loadBalancerIP",
            "loadBalancerSourceRanges",
            "externalName",
            "externalTrafficPolicy",
            "healthCheckNodePort",
            "publishNotReadyAddresses",
            "sessionAffinityConfig",
            "ipFamilies",
            "ipFamilyPolicy",
            "allocateLoadBalancerNodePorts",
            "loadBalancerClass",
            "internalTrafficPolicy",
            "trafficDistribution",
        ],
        ("apps", "Deployment") => &[
            "replicas",
            "selector",
            "template",
            "strategy",
            "minReadySeconds",
            "revisionHistoryLimit",
            "paused",
            "progressDeadlineSeconds",
        ],
        ("coordination.k8s.io", "Lease") => &[
            "holderIdentity",
            "leaseDurationSeconds",
            "acquireTime",
            "renewTime",
            "leaseTransitions",
            "strategy",
            "preferredHolder",
        ],
        ("", "Namespace") => &["finalizers"],
        _ => return None,
    })
}

/// The first unknown field, as `spec.rulez`.
pub fn unknown_field(group: &str, kind: &str, obj: &Value) -> Option<String> {
    let m = obj.as_object()?;
    if let Some(known) = top_level(group, kind) {
        for k in m.keys() {
            if !["apiVersion", "kind", "metadata"].contains(&k.as_str())
                && !known.contains(&k.as_str())
            {
                return Some(k.clone());
            }
        }
    }
    if let Some(meta) = m.get("metadata").and_then(Value::as_object)
        && let Some(k) = meta.keys().find(|k| !OBJECT_META.contains(&k.as_str()))
    {
        return Some(format!("metadata.{k}"));
    }
    if let (Some(known), Some(spec)) = (
        spec_fields(group, kind),
        m.get("spec").and_then(Value::as_object),
    ) && let Some(k) = spec.keys().find(|k| !known.contains(&k.as_str()))
    {
        return Some(format!("spec.{k}"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn typos_in_outer_layers_are_found() {
        let ing = json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "x"},
                         "spec": {"rulez": []}});
        assert_eq!(
            unknown_field("networking.k8s.io", "Ingress", &ing).as_deref(),
            Some("spec.rulez")
        );
        let cm = json!({"metadata": {"name": "x", "lables": {}}, "data": {}});
        assert_eq!(
            unknown_field("", "ConfigMap", &cm).as_deref(),
            Some("metadata.lables")
        );
        let svc = json!({"metadata": {"name": "x"}, "spec": {"type": "NodePort", "ports": []}, "status": {}});
        assert_eq!(unknown_field("", "Service", &svc), None);
        let extra = json!({"metadata": {}, "specs": {}});
        assert_eq!(
            unknown_field("apps", "Deployment", &extra).as_deref(),
            Some("specs")
        );
    }
}
