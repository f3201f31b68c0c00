//! Discovery documents (`/api`, `/apis`, group and resource lists), `/version`, and a minimal
//! OpenAPI v3 index that tells kubectl the server validates fields itself.

use serde_json::{Map, Value, json};

use crate::resources::{self, ResourceDef};

pub fn version() -> Value {
    json!({
        "major": "1",
        "minor": "32",
        "gitVersion": "v1.32.0-kube-local",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "go1.23.4",
        "compiler": "gc",
        "platform": "linux/amd64"
    })
}

pub fn api_versions(server_address: &str) -> Value {
    json!({"kind": "APIVersions", "versions": ["v1"],
           "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]})
}

fn group_doc(group: &str) -> Value {
    let versions: Vec<Value> = resources::versions_of(group)
        .iter()
        .map(|v| json!({"groupVersion": format!("{group}/{v}"), "version": v}))
        .collect();
    let preferred = versions.first().cloned().unwrap_or(json!({}));
    json!({"name": group, "versions": versions, "preferredVersion": preferred})
}

pub fn api_group_list() -> Value {
    let groups: Vec<Value> = resources::groups().iter().map(|g| group_doc(g)).collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

pub fn api_group(group: &str) -> Option<Value> {
    if !resources::groups().contains(&group) {
        return None;
    }
    let mut doc = group_doc(group);
    if let Some(m) = doc.as_object_mut() {
        let mut out = Map::new();
        out.insert("kind".into(), json!("APIGroup"));
        out.insert("apiVersion".into(), json!("v1"));
        out.extend(std::mem::take(m));
        *m = out;
    }
    Some(doc)
}

fn resource_entry(r: &ResourceDef) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), json!(r.plural));
    m.insert("singularName".into(), json!(r.kind.to_lowercase()));
    m.insert("namespaced".into(), json!(r.namespaced));
    m.insert("kind".into(), json!(r.kind));
    m.insert("verbs".into(), json!(r.verbs()));
    if !r.short_names.is_empty() {
        m.insert("shortNames".into(), json!(r.short_names));
    }
    if !r.categories.is_empty() {
        m.insert("categories".into(), json!(r.categories));
    }
    if !r.storage_version_hash.is_empty() {
        m.insert("storageVersionHash".into(), json!(r.storage_version_hash));
    }
    Value::Object(m)
}

/// APIResourceList for a group version, or None when it is not served.
pub fn resource_list(group: &str, version: &str) -> Option<Value> {
    let mut list: Vec<&ResourceDef> = resources::in_group_version(group, version).collect();
    if list.is_empty() {
        return None;
    }
    list.sort_by_key(|r| r.plural);
    let mut entries = Vec::new();
    for r in list {
        entries.push(resource_entry(r));
        if matches!(r.kind, "Deployment" | "ReplicaSet") {
            entries.push(json!({"name": format!("{}/scale", r.plural), "singularName": "", "namespaced": true,
                                "group": "autoscaling", "version": "v1", "kind": "Scale",
                                "verbs": ["get", "patch", "update"]}));
        }
        if r.status {
            entries.push(json!({"name": format!("{}/status", r.plural), "singularName": "", "namespaced": r.namespaced,
                                "kind": r.kind, "verbs": ["get", "patch", "update"]}));
        }
    }
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    let mut m = Map::new();
    m.insert("kind".into(), json!("APIResourceList"));
    if !group.is_empty() {
        m.insert("apiVersion".into(), json!("v1"));
    }
    m.insert("groupVersion".into(), json!(gv));
    m.insert("resources".into(), Value::Array(entries));
    Some(Value::Object(m))
}

/// The `{"paths":[...]}` body kube-apiserver sends for unknown non-API paths.
pub fn root_paths() -> Value {
    let mut paths = vec![
        "/api".to_string(),
        "/api/v1".into(),
        "/apis".into(),
        "/apis/".into(),
    ];
    for g in resources::groups() {
        paths.push(format!("/apis/{g}"));
        for v in resources::versions_of(g) {
            paths.push(format!("/apis/{g}/{v}"));
        }
    }
    paths.extend(["/healthz", "/livez", "/openapi/v3", "/readyz", "/version"].map(String::from));
    json!({"paths": paths})
}

const OPENAPI_HASH: &str = "kube-local-1";

fn gv_key(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// `/openapi/v3`: the index of group-version documents.
pub fn openapi_v3_root() -> Value {
    let mut paths = Map::new();
    let mut gvs: Vec<(&str, &str)> = vec![("", "v1")];
    for g in resources::groups() {
        for v in resources::versions_of(g) {
            gvs.push((g, v));
        }
    }
    for (g, v) in gvs {
        let k = gv_key(g, v);
        paths.insert(
            k.clone(),
            json!({"serverRelativeURL": format!("/openapi/v3/{k}?hash={OPENAPI_HASH}")}),
        );
    }
    json!({"paths": paths})
}

/// `/openapi/v3/<gv>`: only the PATCH operations with their GVK and the `fieldValidation`
/// parameter, which is what kubectl checks to decide that the server validates fields. No
/// schemas are published, so kubectl builds strategic merge patches from its compiled-in types.
pub fn openapi_v3_gv(path: &str) -> Option<Value> {
    let (group, version) = match path.split('/').collect::<Vec<_>>().as_slice() {
        ["api", v] => ("", *v),
        ["apis", g, v] => (*g, *v),
        _ => return None,
    };
    let list: Vec<&ResourceDef> = resources::in_group_version(group, version).collect();
    if list.is_empty() {
        return None;
    }
    let mut paths = Map::new();
    for r in list {
        let prefix = r.prefix();
        let item = if r.namespaced {
            format!("{prefix}/namespaces/{{namespace}}/{}/{{name}}", r.plural)
        } else {
            format!("{prefix}/{}/{{name}}", r.plural)
        };
        let gvk = json!({"group": r.group, "version": r.version, "kind": r.kind});
        let params = json!([
            {"name": "dryRun", "in": "query", "schema": {"type": "string"}},
            {"name": "fieldManager", "in": "query", "schema": {"type": "string"}},
            {"name": "fieldValidation", "in": "query", "schema": {"type": "string"}},
            {"name": "force", "in": "query", "schema": {"type": "boolean"}}
        ]);
        paths.insert(
            item,
            json!({"patch": {"operationId": format!("patch{}", r.kind), "parameters": params,
                             "responses": {"200": {"description": "OK"}},
                             "x-kubernetes-action": "patch", "x-kubernetes-group-version-kind": gvk}}),
        );
    }
    Some(
        json!({"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.32.0"},
                "paths": paths, "components": {"schemas": {}}}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_resource_list_has_short_names_and_status_subresources() {
        let l = resource_list("", "v1").expect("core");
        let rs = l["resources"].as_array().cloned().unwrap_or_default();
        let svc = rs
            .iter()
            .find(|r| r["name"] == "services")
            .cloned()
            .unwrap_or_default();
        assert_eq!(svc["shortNames"], json!(["svc"]));
        assert_eq!(svc["categories"], json!(["all"]));
        assert!(rs.iter().any(|r| r["name"] == "services/status"));
        assert!(l.get("apiVersion").is_none());
    }

    #[test]
    fn unknown_group_version_is_not_served() {
        assert!(resource_list("example.com", "v1").is_none());
        assert!(openapi_v3_gv("apis/example.com/v1").is_none());
        assert!(openapi_v3_gv("apis/networking.k8s.io/v1").is_some());
    }
}
