//! Events are stored once, in core/v1 shape, and served through core/v1 and events.k8s.io/v1.
//! This module converts between the two views and runs the events.k8s.io/v1 create validation
//! (which, like kube-apiserver's, reports core/v1 field names).

use serde_json::{Map, Value, json};

use crate::errors::{ApiError, Cause};
use crate::resources::ResourceDef;
use crate::util::is_micro_time;

/// (core/v1 name, events.k8s.io/v1 name) for renamed fields.
const RENAMES: &[(&str, &str)] = &[
    ("involvedObject", "regarding"),
    ("message", "note"),
    ("source", "deprecatedSource"),
    ("firstTimestamp", "deprecatedFirstTimestamp"),
    ("lastTimestamp", "deprecatedLastTimestamp"),
    ("count", "deprecatedCount"),
    ("reportingComponent", "reportingController"),
];

pub const FIELD_ALIASES: &[(&str, &str)] = &[
    ("regarding.kind", "involvedObject.kind"),
    ("regarding.namespace", "involvedObject.namespace"),
    ("regarding.name", "involvedObject.name"),
    ("regarding.uid", "involvedObject.uid"),
    ("regarding.apiVersion", "involvedObject.apiVersion"),
    (
        "regarding.resourceVersion",
        "involvedObject.resourceVersion",
    ),
    ("regarding.fieldPath", "involvedObject.fieldPath"),
    ("reportingController", "reportingComponent"),
    ("deprecatedSource", "source"),
];

fn rename(obj: &Value, to_v1: bool, api_version: &str) -> Value {
    let Some(m) = obj.as_object() else {
        return obj.clone();
    };
    let mut out = Map::new();
    out.insert("kind".into(), json!("Event"));
    out.insert("apiVersion".into(), json!(api_version));
    for (k, v) in m {
        if k == "kind" || k == "apiVersion" {
            continue;
        }
        let name = RENAMES
            .iter()
            .find(|(core, v1)| if to_v1 { core == k } else { v1 == k })
            .map(|(core, v1)| if to_v1 { *v1 } else { *core })
            .unwrap_or(k.as_str());
        out.insert(name.to_string(), v.clone());
    }
    Value::Object(out)
}

/// Stored (core/v1) → events.k8s.io/v1.
pub fn to_v1(stored: &Value) -> Value {
    let mut out = rename(stored, true, "events.k8s.io/v1");
    if let Some(m) = out.as_object_mut() {
        m.entry("eventTime").or_insert(Value::Null);
        for k in ["reportingController", "reportingInstance"] {
            if m.get(k).and_then(Value::as_str) == Some("") {
                m.remove(k);
            }
        }
    }
    out
}

/// events.k8s.io/v1 → stored (core/v1).
pub fn from_v1(v1: &Value) -> Value {
    let mut out = rename(v1, false, "v1");
    if let Some(m) = out.as_object_mut() {
        m.entry("source").or_insert(json!({}));
        m.entry("firstTimestamp").or_insert(Value::Null);
        m.entry("lastTimestamp").or_insert(Value::Null);
    }
    out
}

/// Decode-level check of MicroTime fields: a create answers 400, a patch 422 (caller decides).
pub fn micro_time_error(obj: &Value, fields: &[&str]) -> Option<String> {
    for f in fields {
        let v = obj.pointer(f);
        if let Some(Value::String(s)) = v
            && !is_micro_time(s)
        {
            return Some(format!(
                "parsing time \"{s}\" as \"2006-01-02T15:04:05.000000Z07:00\": cannot parse \"{}\" as \".000000\"",
                s.get(19..).unwrap_or("")
            ));
        }
    }
    None
}

fn qualified_name_causes(field: &str, value: &str) -> Vec<Cause> {
    let v = json!(value);
    let name = value.rsplit('/').next().unwrap_or("");
    let mut out = Vec::new();
    if name.is_empty() {
        out.push(Cause::invalid(field, &v, "name part must be non-empty"));
    }
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if !ok {
        out.push(Cause::invalid(
            field,
            &v,
            "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
        ));
    }
    out
}

/// events.k8s.io/v1 create validation, run on the v1 body before conversion.
pub fn validate_v1_create(
    def: &ResourceDef,
    ev: &Value,
    namespace: &str,
    name: &str,
) -> Result<(), ApiError> {
    let s = |k: &str| ev.get(k).and_then(Value::as_str).unwrap_or("");
    let mut causes = Vec::new();
    let regarding_ns = ev
        .pointer("/regarding/namespace")
        .and_then(Value::as_str)
        .unwrap_or("");
    if regarding_ns != namespace {
        causes.push(Cause::invalid(
            "involvedObject.namespace",
            &json!(regarding_ns),
            "does not match event.namespace",
        ));
    }
    for (core, v1) in [("count", "deprecatedCount"), ("source", "deprecatedSource")] {
        let set = match ev.get(v1) {
            None | Some(Value::Null) => false,
            Some(Value::Object(m)) => !m.is_empty(),
            Some(Value::Number(n)) => n.as_i64() != Some(0),
            Some(_) => true,
        };
        if set {
            causes.push(Cause::invalid(
                core,
                ev.get(v1).unwrap_or(&Value::Null),
                "needs to be unset",
            ));
        }
    }
    if ev.get("eventTime").is_none_or(Value::is_null) {
        causes.push(Cause::required("eventTime", ""));
    } else {
        if s("reportingController").is_empty() {
            causes.push(Cause::required("reportingController", ""));
        }
        causes.extend(qualified_name_causes(
            "reportingController",
            s("reportingController"),
        ));
        if s("reportingInstance").is_empty() {
            causes.push(Cause::required("reportingInstance", ""));
        }
        if s("action").is_empty() {
            causes.push(Cause::required("action", ""));
        }
        if s("reason").is_empty() {
            causes.push(Cause::required("reason", ""));
        }
    }
    if s("note").chars().count() > 1024 {
        causes.push(Cause::invalid(
            "message",
            &Value::String(String::new()),
            "can have at most 1024 characters",
        ));
    }
    let ty = s("type");
    if ty != "Normal" && ty != "Warning" {
        causes.push(Cause::invalid(
            "type",
            &json!(ty),
            &format!("has invalid value: {ty}"),
        ));
    }
    if let Some(gen_name) = ev.pointer("/metadata/generateName").and_then(Value::as_str)
        && gen_name.ends_with('.')
        && !name.is_empty()
    {
        causes.push(Cause::invalid(
                "metadata.generateName",
                &json!(gen_name),
                "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
            ));
    }
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Invalid {
            group: String::new(),
            kind: def.kind.into(),
            name: name.into(),
            causes,
        })
    }
}

/// core/v1 create validation: the only rule is that involvedObject.namespace matches.
pub fn validate_core(
    def: &ResourceDef,
    ev: &Value,
    namespace: &str,
    name: &str,
) -> Result<(), ApiError> {
    let ns = ev
        .pointer("/involvedObject/namespace")
        .and_then(Value::as_str)
        .unwrap_or("");
    if ns != namespace && !ns.is_empty() {
        return Err(ApiError::Invalid {
            group: String::new(),
            kind: def.kind.into(),
            name: name.into(),
            causes: vec![Cause::invalid(
                "involvedObject.namespace",
                &json!(ns),
                "does not match event.namespace",
            )],
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_and_v1_views_round_trip() {
        let core = json!({"kind": "Event", "apiVersion": "v1", "metadata": {"name": "e"},
            "involvedObject": {"kind": "Ingress", "name": "web"}, "message": "hi", "reportingComponent": "c",
            "count": 1});
        let v1 = to_v1(&core);
        assert_eq!(v1["regarding"]["name"], "web");
        assert_eq!(v1["note"], "hi");
        assert_eq!(v1["reportingController"], "c");
        assert_eq!(v1["deprecatedCount"], 1);
        assert_eq!(v1["eventTime"], Value::Null);
        let back = from_v1(&v1);
        assert_eq!(back["involvedObject"], core["involvedObject"]);
        assert_eq!(back["apiVersion"], "v1");
    }

    #[test]
    fn plain_rfc3339_is_not_a_micro_time() {
        let ev = json!({"eventTime": "2026-11-23T01:27:10Z"});
        assert!(micro_time_error(&ev, &["/eventTime"]).is_some());
        let ev = json!({"eventTime": "2026-11-23T01:27:10.123456Z"});
        assert!(micro_time_error(&ev, &["/eventTime"]).is_none());
    }
}
