//! `metadata.managedFields` bookkeeping and a simplified server-side apply.
//!
//! Field sets are sets of paths (`f:spec`, `k:{"name":"app"}`, `v:"x"` tokens), rendered as
//! FieldsV1. Simplifications versus kube-apiserver: list semantics come from field names
//! (`patch::list_kind`), not from the OpenAPI schema; Update entries own every field they changed,
//! including defaults filled in by the same request.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use crate::errors::Cause;
use crate::patch::{ListKind, list_kind};

pub type Path = Vec<String>;
pub type FieldSet = BTreeSet<Path>;

const SYSTEM_META: &[&str] = &[
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
    "generateName",
];

/// The user-owned part of an object: no apiVersion/kind, no system metadata.
pub fn strip_system(obj: &Value) -> Value {
    let mut out = obj.clone();
    if let Some(m) = out.as_object_mut() {
        m.remove("apiVersion");
        m.remove("kind");
        if let Some(meta) = m.get_mut("metadata").and_then(Value::as_object_mut) {
            for k in SYSTEM_META {
                meta.remove(*k);
            }
        }
        if m.get("metadata")
            .and_then(Value::as_object)
            .is_some_and(Map::is_empty)
        {
            m.remove("metadata");
        }
    }
    out
}

fn item_key(item: &Value, keys: &[&str], field: &str) -> Option<String> {
    let mut m = Map::new();
    for k in keys {
        m.insert((*k).to_string(), item.get(*k)?.clone());
    }
    if field == "ports" {
        let proto = item
            .get("protocol")
            .cloned()
            .unwrap_or_else(|| json!("TCP"));
        m.insert("protocol".into(), proto);
    }
    Some(format!("k:{}", Value::Object(m)))
}

/// All field paths of a (stripped) object.
pub fn field_paths(v: &Value) -> FieldSet {
    let mut out = FieldSet::new();
    collect(v, &mut Vec::new(), &mut out);
    out
}

fn collect(v: &Value, prefix: &mut Path, out: &mut FieldSet) {
    let Some(m) = v.as_object() else { return };
    for (k, child) in m {
        prefix.push(format!("f:{k}"));
        match child {
            Value::Object(o) if !o.is_empty() => collect(child, prefix, out),
            Value::Array(items) => {
                let refs: Vec<&Value> = items.iter().collect();
                match list_kind(k, &refs) {
                    ListKind::Keyed(keys) => {
                        for item in items {
                            match item_key(item, &keys, k) {
                                Some(tok) => {
                                    prefix.push(tok);
                                    out.insert(prefix.clone());
                                    collect(item, prefix, out);
                                    prefix.pop();
                                }
                                None => {
                                    out.insert(prefix.clone());
                                }
                            }
                        }
                        if items.is_empty() {
                            out.insert(prefix.clone());
                        }
                    }
                    ListKind::Set => {
                        out.insert(prefix.clone());
                        for item in items {
                            prefix.push(format!("v:{item}"));
                            out.insert(prefix.clone());
                            prefix.pop();
                        }
                    }
                    ListKind::Atomic => {
                        out.insert(prefix.clone());
                    }
                }
            }
            _ => {
                out.insert(prefix.clone());
            }
        }
        prefix.pop();
    }
}

/// Renders a field set as FieldsV1 (`"."` marks a node that is owned itself and has children).
pub fn to_fields_v1(set: &FieldSet) -> Value {
    fn insert(map: &mut Map<String, Value>, path: &[String], mark: bool) {
        match path.split_first() {
            None => {
                if mark {
                    map.insert(".".into(), json!({}));
                }
            }
            Some((head, tail)) => {
                let e = map.entry(head.clone()).or_insert_with(|| json!({}));
                if let Some(m) = e.as_object_mut() {
                    insert(m, tail, mark);
                }
            }
        }
    }
    let mut root = Map::new();
    for path in set {
        let has_children = set
            .range(path.clone()..)
            .nth(1)
            .is_some_and(|n| n.starts_with(path));
        insert(&mut root, path, has_children);
    }
    Value::Object(root)
}

pub fn from_fields_v1(v: &Value) -> FieldSet {
    let mut out = FieldSet::new();
    fn walk(v: &Value, prefix: &mut Path, out: &mut FieldSet) {
        let Some(m) = v.as_object() else { return };
        if (m.is_empty() || m.contains_key(".")) && !prefix.is_empty() {
            out.insert(prefix.clone());
        }
        for (k, child) in m {
            if k == "." {
                continue;
            }
            prefix.push(k.clone());
            walk(child, prefix, out);
            prefix.pop();
        }
    }
    walk(v, &mut Vec::new(), &mut out);
    out
}

fn find_item(items: &[Value], tok: &str, field: &str) -> Option<usize> {
    let refs: Vec<&Value> = items.iter().collect();
    let ListKind::Keyed(keys) = list_kind(field, &refs) else {
        return None;
    };
    items
        .iter()
        .position(|i| item_key(i, &keys, field).as_deref() == Some(tok))
}

pub fn value_at<'a>(obj: &'a Value, path: &[String]) -> Option<&'a Value> {
    let mut cur = obj;
    let mut last_field = "";
    for tok in path {
        if let Some(f) = tok.strip_prefix("f:") {
            cur = cur.get(f)?;
            last_field = f;
        } else if tok.starts_with("k:") {
            let items = cur.as_array()?;
            cur = &items[find_item(items, tok, last_field)?];
        } else if let Some(v) = tok.strip_prefix("v:") {
            let items = cur.as_array()?;
            cur = items.iter().find(|i| *i == v)?;
        } else {
            return None;
        }
    }
    Some(cur)
}

fn remove_at(obj: &mut Value, path: &[String]) {
    let Some((last, parent_path)) = path.split_last() else {
        return;
    };
    let mut cur = obj;
    let mut last_field = String::new();
    for tok in parent_path {
        if let Some(f) = tok.strip_prefix("f:") {
            let Some(next) = cur.get_mut(f) else { return };
            cur = next;
            last_field = f.to_string();
        } else if tok.starts_with("k:") {
            let Some(items) = cur.as_array_mut() else {
                return;
            };
            let Some(i) = find_item(items, tok, &last_field) else {
                return;
            };
            cur = &mut items[i];
        } else {
            return;
        }
    }
    if let Some(f) = last.strip_prefix("f:") {
        if let Some(m) = cur.as_object_mut() {
            m.remove(f);
        }
    } else if last.starts_with("k:") {
        if let Some(items) = cur.as_array_mut()
            && let Some(i) = find_item(items, last, &last_field)
        {
            items.remove(i);
        }
    } else if let Some(v) = last.strip_prefix("v:")
        && let Some(items) = cur.as_array_mut()
    {
        items.retain(|i| *i != v);
    }
}

/// `.spec.template.spec.containers[name="app"].image`
pub fn path_string(path: &[String]) -> String {
    let mut s = String::new();
    for tok in path {
        if let Some(f) = tok.strip_prefix("f:") {
            s.push('.');
            s.push_str(f);
        } else if let Some(k) = tok.strip_prefix("k:") {
            let parts: Vec<String> = serde_json::from_str::<Map<String, Value>>(k)
                .map(|m| m.iter().map(|(k, v)| format!("{k}={v}")).collect())
                .unwrap_or_default();
            s.push_str(&format!("[{}]", parts.join(",")));
        } else if let Some(v) = tok.strip_prefix("v:") {
            s.push_str(&format!("[={v}]"));
        }
    }
    s
}

/// Deep merge of an applied configuration into an object.
fn apply_merge(base: &mut Value, cfg: &Value) {
    let (Some(b), Some(c)) = (base.as_object_mut(), cfg.as_object()) else {
        *base = cfg.clone();
        return;
    };
    for (k, v) in c {
        if v.is_null() {
            continue;
        }
        match (b.get_mut(k), v) {
            (Some(existing @ Value::Object(_)), Value::Object(_)) => apply_merge(existing, v),
            (Some(Value::Array(existing)), Value::Array(items)) => {
                let refs: Vec<&Value> = existing.iter().chain(items.iter()).collect();
                match list_kind(k, &refs) {
                    ListKind::Keyed(keys) => {
                        for item in items {
                            let tok = item_key(item, &keys, k);
                            let pos = tok.as_ref().and_then(|t| {
                                existing
                                    .iter()
                                    .position(|e| item_key(e, &keys, k).as_ref() == Some(t))
                            });
                            match pos {
                                Some(i) => apply_merge(&mut existing[i], item),
                                None => existing.push(item.clone()),
                            }
                        }
                    }
                    ListKind::Set => {
                        for item in items {
                            if !existing.contains(item) {
                                existing.push(item.clone());
                            }
                        }
                    }
                    ListKind::Atomic => *existing = items.clone(),
                }
            }
            _ => {
                b.insert(k.clone(), v.clone());
            }
        }
    }
}

fn entries_of(obj: Option<&Value>) -> Vec<Value> {
    obj.and_then(|o| o.pointer("/metadata/managedFields"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// Narrows entry `e` to the paths `keep` accepts; false when none remain, telling the
/// `retain_mut` caller to drop an entry that no longer owns anything.
fn keep_paths(e: &mut Value, keep: impl Fn(&Path) -> bool) -> bool {
    let set: FieldSet = entry_set(e).into_iter().filter(|p| keep(p)).collect();
    if set.is_empty() {
        return false;
    }
    if let Some(m) = e.as_object_mut() {
        m.insert("fieldsV1".into(), to_fields_v1(&set));
    }
    true
}

fn entry_set(e: &Value) -> FieldSet {
    e.get("fieldsV1").map(from_fields_v1).unwrap_or_default()
}

fn make_entry(
    manager: &str,
    operation: &str,
    api_version: &str,
    time: &str,
    sub: Option<&str>,
    set: &FieldSet,
) -> Value {
    let mut m = Map::new();
    m.insert("manager".into(), json!(manager));
    m.insert("operation".into(), json!(operation));
    m.insert("apiVersion".into(), json!(api_version));
    m.insert("time".into(), json!(time));
    m.insert("fieldsType".into(), json!("FieldsV1"));
    m.insert("fieldsV1".into(), to_fields_v1(set));
    if let Some(s) = sub {
        m.insert("subresource".into(), json!(s));
    }
    Value::Object(m)
}

fn same_slot(e: &Value, manager: &str, operation: &str, sub: Option<&str>) -> bool {
    e.get("manager").and_then(Value::as_str) == Some(manager)
        && e.get("operation").and_then(Value::as_str) == Some(operation)
        && e.get("subresource").and_then(Value::as_str) == sub
}

/// Who is writing and through which endpoint.
pub struct Writer<'a> {
    pub manager: &'a str,
    pub api_version: &'a str,
    pub subresource: Option<&'a str>,
    pub time: &'a str,
}

/// Records an Update operation: the manager takes every changed field from the others.
/// `old_view`/`new_view` are the user-owned parts (see `strip_system`).
pub fn record_update(
    old: Option<&Value>,
    old_view: &Value,
    new_view: &Value,
    w: &Writer<'_>,
) -> Vec<Value> {
    let old_set = field_paths(old_view);
    let new_set = field_paths(new_view);
    let changed: FieldSet = new_set
        .iter()
        .filter(|p| value_at(old_view, p) != value_at(new_view, p))
        .cloned()
        .collect();
    let removed: FieldSet = old_set.difference(&new_set).cloned().collect();
    let mut entries = entries_of(old);
    let mut mine: Option<FieldSet> = None;
    entries.retain_mut(|e| {
        if same_slot(e, w.manager, "Update", w.subresource) {
            mine = Some(entry_set(e));
            return false;
        }
        keep_paths(e, |p| !changed.contains(p) && !removed.contains(p))
    });
    let had = mine.is_some();
    let mut set: FieldSet = mine
        .unwrap_or_default()
        .into_iter()
        .filter(|p| !removed.contains(p))
        .collect();
    set.extend(changed.iter().cloned());
    if !set.is_empty() && (had || !changed.is_empty()) {
        entries.push(make_entry(
            w.manager,
            "Update",
            w.api_version,
            w.time,
            w.subresource,
            &set,
        ));
    }
    entries
}

/// Server-side apply of `config` onto `current` (None: create). Returns the merged object with
/// its managedFields, or the conflicts when `force` is false.
pub fn apply(
    current: Option<&Value>,
    config_view: &Value,
    force: bool,
    w: &Writer<'_>,
) -> Result<Value, Vec<Cause>> {
    let new_set = field_paths(config_view);
    let leaves: Vec<&Path> = new_set
        .iter()
        .filter(|p| {
            !new_set
                .range((*p).clone()..)
                .nth(1)
                .is_some_and(|n| n.starts_with(p))
        })
        .collect();
    let base_view = current.map(strip_system).unwrap_or_else(|| json!({}));
    let mut entries = entries_of(current);
    let mut causes = Vec::new();
    let mut conflicted: FieldSet = FieldSet::new();
    for e in &entries {
        if same_slot(e, w.manager, "Apply", w.subresource) {
            continue;
        }
        let set = entry_set(e);
        let who = e.get("manager").and_then(Value::as_str).unwrap_or("");
        if who == w.manager {
            // The same manager's Update entry never conflicts with its own apply.
            continue;
        }
        for p in &leaves {
            if set.contains(*p) && value_at(&base_view, p) != value_at(config_view, p) {
                causes.push(Cause {
                    reason: "FieldManagerConflict",
                    message: format!("conflict with \"{who}\""),
                    field: path_string(p),
                });
                conflicted.insert((*p).clone());
            }
        }
    }
    if !causes.is_empty() && !force {
        return Err(causes);
    }
    let mut previous = FieldSet::new();
    entries.retain_mut(|e| {
        if same_slot(e, w.manager, "Apply", w.subresource) {
            previous = entry_set(e);
            return false;
        }
        if conflicted.is_empty() {
            return true;
        }
        keep_paths(e, |p| !conflicted.contains(p))
    });
    let others: FieldSet = entries.iter().flat_map(entry_set).collect();
    let mut merged = current.cloned().unwrap_or_else(|| json!({"metadata": {}}));
    // A stale path is dropped unless someone still owns it or something below it.
    let retained = |p: &Path| {
        new_set
            .range(p.clone()..)
            .next()
            .is_some_and(|n| n.starts_with(p))
            || others
                .range(p.clone()..)
                .next()
                .is_some_and(|n| n.starts_with(p))
    };
    let mut stale: Vec<&Path> = previous.iter().filter(|p| !retained(p)).collect();
    stale.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for p in stale {
        remove_at(&mut merged, p);
    }
    apply_merge(&mut merged, config_view);
    entries.push(make_entry(
        w.manager,
        "Apply",
        w.api_version,
        w.time,
        w.subresource,
        &new_set,
    ));
    if let Some(meta) = merged.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert("managedFields".into(), Value::Array(entries));
    }
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w<'a>(manager: &'a str) -> Writer<'a> {
        Writer {
            manager,
            api_version: "apps/v1",
            subresource: None,
            time: "2026-01-01T00:00:00Z",
        }
    }

    fn cfg(image: &str) -> Value {
        json!({"metadata": {"labels": {"app": "pywai"}},
               "spec": {"template": {"spec": {"containers": [{"name": "app", "image": image}]}}}})
    }

    #[test]
    fn apply_records_keyed_list_items_in_fields_v1() {
        let out = apply(None, &cfg("a:1"), false, &w("x")).expect("no conflict");
        let f = &out["metadata"]["managedFields"][0]["fieldsV1"];
        assert_eq!(
            f["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"app\"}"]
                [".".to_string()],
            json!({})
        );
        assert_eq!(f["f:metadata"]["f:labels"], json!({"f:app": {}}));
    }

    #[test]
    fn apply_by_second_manager_conflicts_unless_forced() {
        let first = apply(None, &cfg("a:1"), false, &w("x")).expect("no conflict");
        let other = json!({"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "a:2"}]}}}});
        let err = apply(Some(&first), &other, false, &w("y")).expect_err("conflict");
        assert_eq!(
            err[0].field,
            ".spec.template.spec.containers[name=\"app\"].image"
        );
        assert_eq!(err[0].message, "conflict with \"x\"");
        let forced = apply(Some(&first), &other, true, &w("y")).expect("forced");
        assert_eq!(
            forced["spec"]["template"]["spec"]["containers"][0]["image"],
            "a:2"
        );
        assert_eq!(forced["metadata"]["labels"]["app"], "pywai");
    }

    #[test]
    fn apply_removes_fields_the_manager_no_longer_sets() {
        let first = apply(None, &cfg("a:1"), false, &w("x")).expect("ok");
        let second = json!({"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "a:1"}]}}}});
        let out = apply(Some(&first), &second, false, &w("x")).expect("ok");
        assert!(
            out["metadata"]
                .get("labels")
                .is_none_or(|l| l.get("app").is_none())
        );
    }

    #[test]
    fn update_moves_ownership_of_changed_fields() {
        let first = apply(None, &cfg("a:1"), false, &w("x")).expect("ok");
        let mut changed = strip_system(&first);
        changed["spec"]["template"]["spec"]["containers"][0]["image"] = json!("a:3");
        let entries = record_update(
            Some(&first),
            &strip_system(&first),
            &changed,
            &w("kubectl-edit"),
        );
        assert_eq!(entries.len(), 2);
        let x = from_fields_v1(&entries[0]["fieldsV1"]);
        assert!(!x.iter().any(|p| p.last().is_some_and(|t| t == "f:image")));
    }
}
