//! PATCH flavours: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and strategic merge
//! patch for the fields the served resources use. Pure functions over JSON values.

use serde_json::{Map, Value};

#[derive(Debug, thiserror::Error)]
pub enum PatchError {
    /// The body does not decode (400).
    #[error("{0}")]
    Decode(String),
    /// The patch does not apply (422, generic message).
    #[error("patch does not apply: {0}")]
    Apply(String),
}

/// How list items of a field are identified, shared by strategic merge and server-side apply.
#[derive(Debug, Clone, PartialEq)]
pub enum ListKind {
    /// Items are maps keyed by these fields.
    Keyed(Vec<&'static str>),
    /// A list of scalars treated as a set (finalizers).
    Set,
    /// Replaced as a whole.
    Atomic,
}

/// The list semantics of `field`, judged by its name and (for `ports`) its items.
pub fn list_kind(field: &str, items: &[&Value]) -> ListKind {
    match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "env"
        | "volumes"
        | "imagePullSecrets" => ListKind::Keyed(vec!["name"]),
        "volumeMounts" => ListKind::Keyed(vec!["mountPath"]),
        "conditions" | "addresses" => ListKind::Keyed(vec!["type"]),
        "hostAliases" => ListKind::Keyed(vec!["ip"]),
        "topologySpreadConstraints" => ListKind::Keyed(vec!["topologyKey"]),
        "finalizers" => ListKind::Set,
        "ports" => {
            if items.iter().any(|i| i.get("containerPort").is_some()) {
                ListKind::Keyed(vec!["containerPort"])
            } else if items.iter().any(|i| i.get("port").is_some()) {
                ListKind::Keyed(vec!["port"])
            } else {
                ListKind::Atomic
            }
        }
        _ => ListKind::Atomic,
    }
}

fn same_key(a: &Value, b: &Value, keys: &[&str]) -> bool {
    keys.iter().all(|k| a.get(*k) == b.get(*k))
}

/// RFC 7386.
pub fn merge_patch(target: &Value, patch: &Value) -> Value {
    let mut out = target.clone();
    json_patch::merge(&mut out, patch);
    out
}

/// RFC 6902, with kube-apiserver's leniency: a `test` of a missing path against `null` passes.
pub fn json_patch(target: &Value, body: &Value) -> Result<Value, PatchError> {
    let ops = body.as_array().ok_or_else(|| {
        PatchError::Decode(format!(
            "json: cannot unmarshal {} into Go value of type jsonpatch.Patch",
            go_type(body)
        ))
    })?;
    let mut doc = target.clone();
    for op in ops {
        let is_test = op.get("op").and_then(Value::as_str) == Some("test");
        if is_test {
            let path = op.get("path").and_then(Value::as_str).unwrap_or("");
            let expected = op.get("value").unwrap_or(&Value::Null);
            let actual = doc.pointer(path);
            match actual {
                None if expected.is_null() => continue,
                Some(a) if a == expected => continue,
                _ => return Err(PatchError::Apply(format!("test failed at {path}"))),
            }
        }
        let parsed: json_patch::Patch = serde_json::from_value(Value::Array(vec![op.clone()]))
            .map_err(|e| PatchError::Decode(format!("invalid JSON patch operation: {e}")))?;
        json_patch::patch_unsafe(&mut doc, &parsed.0)
            .map_err(|e| PatchError::Apply(e.to_string()))?;
    }
    Ok(doc)
}

fn go_type(v: &Value) -> &'static str {
    match v {
        Value::Object(_) => "object",
        Value::String(_) => "string",
        Value::Number(_) => "number",
        Value::Bool(_) => "bool",
        Value::Null => "null",
        Value::Array(_) => "array",
    }
}

/// Strategic merge patch.
pub fn strategic_merge(target: &Value, patch: &Value) -> Result<Value, PatchError> {
    let (Some(t), Some(p)) = (target.as_object(), patch.as_object()) else {
        return Err(PatchError::Decode(
            "strategic merge patch must be a JSON object".into(),
        ));
    };
    Ok(Value::Object(merge_map(t, p)?))
}

fn merge_map(
    orig: &Map<String, Value>,
    patch: &Map<String, Value>,
) -> Result<Map<String, Value>, PatchError> {
    if patch.get("$patch").and_then(Value::as_str) == Some("replace") {
        let mut m = patch.clone();
        m.remove("$patch");
        return Ok(strip_directives(m));
    }
    let mut out = orig.clone();
    if let Some(keep) = patch.get("$retainKeys").and_then(Value::as_array) {
        let keep: Vec<&str> = keep.iter().filter_map(Value::as_str).collect();
        out.retain(|k, _| keep.contains(&k.as_str()));
    }
    for (k, v) in patch {
        if k.starts_with('$') {
            continue;
        }
        if v.is_null() {
            out.remove(k);
            continue;
        }
        let merged = match (out.get(k), v) {
            (Some(Value::Object(o)), Value::Object(p)) => {
                if p.get("$patch").and_then(Value::as_str) == Some("delete") {
                    out.remove(k);
                    continue;
                }
                Value::Object(merge_map(o, p)?)
            }
            (Some(Value::Array(o)), Value::Array(p)) => {
                let order = patch
                    .get(&format!("$setElementOrder/{k}"))
                    .and_then(Value::as_array);
                Value::Array(merge_list(k, o, p, order)?)
            }
            (None, Value::Array(p)) => Value::Array(merge_list(
                k,
                &[],
                p,
                patch
                    .get(&format!("$setElementOrder/{k}"))
                    .and_then(Value::as_array),
            )?),
            (_, Value::Object(p)) => Value::Object(strip_directives(p.clone())),
            (Some(o), p) if o.is_object() || o.is_array() => {
                if p.is_object() || p.is_array() {
                    p.clone()
                } else if o.is_object() {
                    return Err(PatchError::Apply(format!("field {k} expects an object")));
                } else {
                    p.clone()
                }
            }
            (_, p) => p.clone(),
        };
        out.insert(k.clone(), merged);
    }
    // Primitive-list deletions: `$deleteFromPrimitiveList/finalizers: [..]`.
    for (k, v) in patch {
        if let Some(field) = k.strip_prefix("$deleteFromPrimitiveList/") {
            let remove: Vec<&Value> = v.as_array().map(|a| a.iter().collect()).unwrap_or_default();
            if let Some(Value::Array(list)) = out.get_mut(field) {
                list.retain(|x| !remove.contains(&x));
            }
        }
    }
    Ok(out)
}

fn strip_directives(mut m: Map<String, Value>) -> Map<String, Value> {
    m.retain(|k, _| !k.starts_with('$'));
    for v in m.values_mut() {
        match v {
            Value::Object(o) => *o = strip_directives(std::mem::take(o)),
            Value::Array(a) => {
                a.retain(|i| i.get("$patch").and_then(Value::as_str) != Some("delete"));
                for i in a.iter_mut() {
                    if let Value::Object(o) = i {
                        *o = strip_directives(std::mem::take(o));
                    }
                }
            }
            _ => {}
        }
    }
    m
}

fn merge_list(
    field: &str,
    orig: &[Value],
    patch: &[Value],
    order: Option<&Vec<Value>>,
) -> Result<Vec<Value>, PatchError> {
    let all: Vec<&Value> = orig.iter().chain(patch.iter()).collect();
    let mut out = match list_kind(field, &all) {
        ListKind::Atomic => {
            return Ok(patch
                .iter()
                .map(|v| match v {
                    Value::Object(o) => Value::Object(strip_directives(o.clone())),
                    other => other.clone(),
                })
                .collect());
        }
        ListKind::Set => {
            let mut out: Vec<Value> = orig.to_vec();
            for p in patch {
                if !out.contains(p) {
                    out.push(p.clone());
                }
            }
            out
        }
        ListKind::Keyed(keys) => {
            if patch
                .iter()
                .any(|p| p.get("$patch").and_then(Value::as_str) == Some("replace"))
            {
                return Ok(patch
                    .iter()
                    .filter(|p| p.get("$patch").is_none())
                    .filter_map(|p| {
                        p.as_object()
                            .map(|o| Value::Object(strip_directives(o.clone())))
                    })
                    .collect());
            }
            let mut out = Vec::new();
            let mut consumed = vec![false; orig.len()];
            for p in patch {
                let Some(pm) = p.as_object() else {
                    return Err(PatchError::Apply(format!("list {field} expects objects")));
                };
                let idx = orig.iter().position(|o| same_key(o, p, &keys));
                if let Some(i) = idx {
                    consumed[i] = true;
                }
                if pm.get("$patch").and_then(Value::as_str) == Some("delete") {
                    continue;
                }
                match idx.and_then(|i| orig[i].as_object()) {
                    Some(o) => out.push(Value::Object(merge_map(o, pm)?)),
                    None => out.push(Value::Object(strip_directives(pm.clone()))),
                }
            }
            for (i, o) in orig.iter().enumerate() {
                if !consumed[i] {
                    out.push(o.clone());
                }
            }
            if let Some(order) = order {
                out.sort_by_key(|item| {
                    order
                        .iter()
                        .position(|o| same_key(o, item, &keys))
                        .unwrap_or(usize::MAX)
                });
            }
            return Ok(out);
        }
    };
    if let Some(order) = order {
        out.sort_by_key(|item| order.iter().position(|o| o == item).unwrap_or(usize::MAX));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment() -> Value {
        json!({"spec": {"template": {"spec": {"containers": [
            {"name": "app", "image": "example/app:1.0", "ports": [{"containerPort": 8080, "protocol": "TCP"}],
             "env": [{"name": "A", "value": "1"}]},
            {"name": "sidecar", "image": "example/sidecar:1.0"}
        ]}}}})
    }

    #[test]
    fn strategic_merge_merges_containers_and_env_by_name() {
        let patch = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "app", "image": "example/app:1.1", "env": [{"name": "B", "value": "2"}]}
        ]}}}});
        let out = strategic_merge(&deployment(), &patch).expect("applies");
        let cs = &out["spec"]["template"]["spec"]["containers"];
        assert_eq!(cs.as_array().map(Vec::len), Some(2));
        assert_eq!(cs[0]["image"], "example/app:1.1");
        assert_eq!(cs[0]["ports"][0]["containerPort"], 8080);
        assert_eq!(
            cs[0]["env"],
            json!([{"name": "B", "value": "2"}, {"name": "A", "value": "1"}])
        );
        assert_eq!(cs[1]["name"], "sidecar");
    }

    #[test]
    fn merge_patch_replaces_lists_wholesale() {
        let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "x"}]}}}});
        let out = merge_patch(&deployment(), &patch);
        assert_eq!(
            out["spec"]["template"]["spec"]["containers"],
            json!([{"name": "app", "image": "x"}])
        );
    }

    #[test]
    fn strategic_patch_delete_directive_removes_the_keyed_item() {
        let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "sidecar", "$patch": "delete"}]}}}});
        let out = strategic_merge(&deployment(), &patch).expect("applies");
        let cs = out["spec"]["template"]["spec"]["containers"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(cs.len(), 1);
        assert_eq!(cs[0]["name"], "app");
    }

    #[test]
    fn set_element_order_reorders_merged_list() {
        let patch = json!({"spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "sidecar"}, {"name": "app"}],
            "containers": [{"name": "app", "image": "example/app:1.1"}]}}}});
        let out = strategic_merge(&deployment(), &patch).expect("applies");
        assert_eq!(
            out["spec"]["template"]["spec"]["containers"][0]["name"],
            "sidecar"
        );
        assert!(
            out["spec"]["template"]["spec"]
                .get("$setElementOrder/containers")
                .is_none()
        );
    }

    #[test]
    fn finalizers_merge_as_a_set() {
        let orig = json!({"metadata": {"finalizers": ["a"]}});
        let out = strategic_merge(&orig, &json!({"metadata": {"finalizers": ["a", "b"]}}))
            .expect("applies");
        assert_eq!(out["metadata"]["finalizers"], json!(["a", "b"]));
    }

    #[test]
    fn json_patch_test_of_missing_path_against_null_passes() {
        let orig = json!({"metadata": {"name": "x"}});
        let body = json!([
            {"op": "test", "path": "/metadata/finalizers", "value": null},
            {"op": "add", "path": "/metadata/finalizers", "value": ["f"]}
        ]);
        let out = json_patch(&orig, &body).expect("applies");
        assert_eq!(out["metadata"]["finalizers"], json!(["f"]));
    }

    #[test]
    fn json_patch_failing_test_is_an_apply_error() {
        let orig = json!({"metadata": {"finalizers": ["a"]}});
        let body = json!([{"op": "test", "path": "/metadata/finalizers/0", "value": "b"},
                          {"op": "remove", "path": "/metadata/finalizers/0"}]);
        assert!(matches!(
            json_patch(&orig, &body),
            Err(PatchError::Apply(_))
        ));
        assert!(matches!(
            json_patch(&orig, &json!({"op": "x"})),
            Err(PatchError::Decode(_))
        ));
    }
}
