//! The verbs (create, get, list, update, patch, delete) over the generic store, independent of
//! HTTP. Each returns the HTTP status code and the JSON body, or an `ApiError`.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use crate::admission::{self, Op};
use crate::errors::{ApiError, Cause, delete_success};
use crate::events;
use crate::managed::{self, Writer};
use crate::patch::{self, PatchError};
use crate::resources::{ResourceDef, View};
use crate::selectors::{FieldSelector, LabelSelector};
use crate::store::{Key, Store, Txn, key};
use crate::util;

/// One API request, already routed.
pub struct Req<'a> {
    pub def: &'static ResourceDef,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub sub: Option<String>,
    pub query: &'a HashMap<String, String>,
    pub user_agent: &'a str,
    pub content_type: &'a str,
    pub body: &'a [u8],
}

impl Req<'_> {
    fn manager(&self) -> String {
        if let Some(m) = self.query.get("fieldManager").filter(|m| !m.is_empty()) {
            return m.clone();
        }
        let ua = self.user_agent.split('/').next().unwrap_or("").trim();
        if ua.is_empty() {
            "unknown".into()
        } else {
            ua.to_string()
        }
    }

    fn dry_run(&self) -> bool {
        self.query.get("dryRun").is_some_and(|v| !v.is_empty())
    }

    fn is_status(&self) -> bool {
        self.sub.as_deref() == Some("status")
    }

    fn name(&self) -> &str {
        self.name.as_deref().unwrap_or("")
    }

    fn ns(&self) -> Option<&str> {
        self.namespace.as_deref()
    }
}

pub type Reply = Result<(u16, Value), ApiError>;

/// `fieldValidation=Strict`: unknown fields in the outer layers are a 400, as on 1.27+ servers.
fn strict_check(req: &Req<'_>, obj: &Value) -> Result<(), ApiError> {
    if req.query.get("fieldValidation").map(String::as_str) != Some("Strict") {
        return Ok(());
    }
    let def = req.def;
    match crate::fields::unknown_field(def.group, def.kind, obj) {
        Some(f) => Err(ApiError::BadRequest(format!(
            "{} in version \"{}\" cannot be handled as a {}: strict decoding error: unknown field \"{f}\"",
            def.kind, def.version, def.kind
        ))),
        None => Ok(()),
    }
}

/// Stored form → the form served by this endpoint.
pub fn to_view(def: &ResourceDef, stored: &Value) -> Value {
    match def.view {
        View::EventsV1 => events::to_v1(stored),
        View::Identity => {
            let mut v = stored.clone();
            if let Some(m) = v.as_object_mut() {
                // Keep kind/apiVersion first, as the real server does.
                let mut out = Map::new();
                out.insert("kind".into(), json!(def.kind));
                out.insert("apiVersion".into(), json!(def.api_version()));
                for (k, val) in std::mem::take(m) {
                    if k != "kind" && k != "apiVersion" {
                        out.insert(k, val);
                    }
                }
                *m = out;
            }
            v
        }
    }
}

fn to_storage(def: &ResourceDef, view: &Value) -> Value {
    match def.view {
        View::EventsV1 => events::from_v1(view),
        View::Identity => view.clone(),
    }
}

fn parse_body(def: &ResourceDef, body: &[u8]) -> Result<Value, ApiError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        let snippet: String = String::from_utf8_lossy(body).chars().take(30).collect();
        ApiError::BadRequest(format!(
            "the object provided is unrecognized (must be of type {}): couldn't get version/kind; json parse error: {e} ({snippet} ...)",
            def.kind
        ))
    })?;
    if !v.is_object() {
        return Err(ApiError::BadRequest(format!(
            "the object provided is unrecognized (must be of type {}): couldn't get version/kind; json parse error: expected an object",
            def.kind
        )));
    }
    check_kind(def, &v)?;
    Ok(v)
}

fn check_kind(def: &ResourceDef, v: &Value) -> Result<(), ApiError> {
    let kind = v.get("kind").and_then(Value::as_str).unwrap_or(def.kind);
    let api_version = v
        .get("apiVersion")
        .and_then(Value::as_str)
        .map(String::from)
        .unwrap_or_else(|| def.api_version());
    if kind != def.kind || api_version != def.api_version() {
        let version = api_version.rsplit('/').next().unwrap_or("");
        return Err(ApiError::BadRequest(format!(
            "{kind} in version \"{version}\" cannot be handled as a {}: converting ({version}.{kind}) to ({}.{}): unknown conversion",
            def.kind,
            if def.group.is_empty() {
                "core"
            } else {
                def.group.split('.').next().unwrap_or("")
            },
            def.kind
        )));
    }
    Ok(())
}

fn meta_mut(obj: &mut Value) -> &mut Map<String, Value> {
    if !obj.is_object() {
        *obj = json!({});
    }
    let Value::Object(m) = obj else {
        unreachable!("replaced by an object above")
    };
    let e = m.entry("metadata").or_insert_with(|| json!({}));
    if !e.is_object() {
        *e = json!({});
    }
    match e {
        Value::Object(meta) => meta,
        _ => unreachable!("replaced by an object above"),
    }
}

fn meta_str<'a>(obj: &'a Value, key: &str) -> Option<&'a str> {
    obj.get("metadata")
        .and_then(|m| m.get(key))
        .and_then(Value::as_str)
}

fn finalizers(obj: &Value) -> Vec<String> {
    obj.pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

/// Namespace admission (NamespaceLifecycle): the namespace must exist and not be terminating.
fn check_namespace(txn: &Txn, def: &ResourceDef, ns: &str, name: &str) -> Result<(), ApiError> {
    match txn.get("namespaces", &key(None, ns)) {
        None => Err(ApiError::NotFound {
            group: String::new(),
            resource: "namespaces".into(),
            name: ns.into(),
        }),
        Some(n) if n.pointer("/metadata/deletionTimestamp").is_some() => {
            Err(ApiError::NamespaceTerminating {
                resource: def.plural.into(),
                name: name.into(),
                namespace: ns.into(),
            })
        }
        Some(_) => Ok(()),
    }
}

fn decode_check(def: &ResourceDef, obj: &Value, is_patch: bool) -> Result<(), ApiError> {
    if let Some(msg) = events::micro_time_error(obj, admission::micro_time_fields(def)) {
        return Err(if is_patch {
            ApiError::InvalidPatch(format!("{}: {msg}", go_quote(&obj.to_string())))
        } else {
            let version = def.version;
            ApiError::BadRequest(format!(
                "{} in version \"{version}\" cannot be handled as a {}: {msg}",
                def.kind, def.kind
            ))
        });
    }
    Ok(())
}

fn go_quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// How managedFields are maintained for a write.
enum Managed<'a> {
    Update(Writer<'a>),
    /// Already computed (server-side apply).
    Preset,
}

pub fn get(store: &Store, req: &Req<'_>) -> Reply {
    let txn = store.txn();
    let k = key(req.ns(), req.name());
    match txn.get(req.def.storage, &k) {
        Some(o) => Ok((200, to_view(req.def, o))),
        None => Err(ApiError::not_found(req.def, req.name())),
    }
}

pub fn create(store: &Store, req: &Req<'_>) -> Reply {
    let def = req.def;
    let mut body = parse_body(def, req.body)?;
    strict_check(req, &body)?;
    if def.is_review() {
        // No authorization is enforced, so every access review is allowed.
        if let Some(m) = body.as_object_mut() {
            m.insert("kind".into(), json!(def.kind));
            m.insert("apiVersion".into(), json!(def.api_version()));
            m.insert(
                "status".into(),
                json!({"allowed": true, "reason": "kube-local does not enforce authorization"}),
            );
        }
        return Ok((201, body));
    }
    let mut txn = store.txn();
    let manager = req.manager();
    let time = util::now_rfc3339();
    let api_version = def.api_version();
    let writer = Writer {
        manager: &manager,
        api_version: &api_version,
        subresource: None,
        time: &time,
    };
    let (code, obj) = create_object(&mut txn, req, body, Managed::Update(writer))?;
    Ok((code, obj))
}

fn create_object(txn: &mut Txn, req: &Req<'_>, mut view: Value, managed: Managed<'_>) -> Reply {
    let def = req.def;
    {
        let meta = meta_mut(&mut view);
        if def.namespaced {
            let url_ns = req.ns().unwrap_or("");
            match meta.get("namespace").and_then(Value::as_str) {
                Some(n) if !n.is_empty() && n != url_ns => {
                    return Err(ApiError::BadRequest(
                        "the namespace of the provided object does not match the namespace sent on the request".into(),
                    ));
                }
                _ => {
                    meta.insert("namespace".into(), json!(url_ns));
                }
            }
        } else {
            meta.remove("namespace");
        }
        let has_name = meta
            .get("name")
            .and_then(Value::as_str)
            .is_some_and(|n| !n.is_empty());
        if !has_name
            && let Some(g) = meta
                .get("generateName")
                .and_then(Value::as_str)
                .filter(|g| !g.is_empty())
        {
            let name = format!("{g}{}", util::random_suffix());
            meta.insert("name".into(), json!(name));
        }
    }
    let name = meta_str(&view, "name").unwrap_or("").to_string();
    let ns = if def.namespaced {
        req.ns().map(String::from)
    } else {
        None
    };
    if name.is_empty() {
        return Err(ApiError::invalid(
            def,
            "",
            vec![Cause::required(
                "metadata.name",
                "name or generateName is required",
            )],
        ));
    }
    // events.k8s.io validation runs on its own view, before conversion to storage.
    decode_check(def, &view, false)?;
    if def.view == View::EventsV1 {
        events::validate_v1_create(def, &view, ns.as_deref().unwrap_or(""), &name)?;
    } else if def.kind == "Event" {
        events::validate_core(def, &view, ns.as_deref().unwrap_or(""), &name)?;
    }
    let request_view = view.clone();
    let mut obj = to_storage(def, &view);
    let causes = admission::validate_name(def, &name);
    if !causes.is_empty() {
        return Err(ApiError::invalid(def, &name, causes));
    }
    if let Some(n) = &ns {
        check_namespace(txn, def, n, &name)?;
    }
    let k: Key = key(ns.as_deref(), &name);
    if txn.get(def.storage, &k).is_some() {
        return Err(ApiError::already_exists(def, &name));
    }
    // Status is set by controllers, not by creates (Nodes are the exception, as in kube-apiserver).
    if def.status
        && def.kind != "Node"
        && let Some(m) = obj.as_object_mut()
    {
        m.remove("status");
    }
    admission::admit(def, Op::Create, None, &mut obj, txn)?;
    let now = util::now_rfc3339();
    {
        let meta = meta_mut(&mut obj);
        for k in [
            "resourceVersion",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "selfLink",
        ] {
            meta.remove(k);
        }
        meta.insert("uid".into(), json!(uuid::Uuid::new_v4().to_string()));
        meta.insert("creationTimestamp".into(), json!(now));
        if def.generation {
            meta.insert("generation".into(), json!(1));
        } else {
            meta.remove("generation");
        }
    }
    if let Managed::Update(w) = &managed {
        let mut req_view = managed::strip_system(&request_view);
        if def.status
            && def.kind != "Node"
            && let Some(m) = req_view.as_object_mut()
        {
            m.remove("status");
        }
        let entries = managed::record_update(None, &json!({}), &req_view, w);
        meta_mut(&mut obj).insert("managedFields".into(), Value::Array(entries));
    }
    order_object(def, &mut obj);
    if req.dry_run() {
        return Ok((201, to_view(def, &obj)));
    }
    let stored = txn.put(def.storage, k, obj);
    Ok((201, to_view(def, &stored)))
}

/// Puts metadata first and status last, the order kube-apiserver serializes in, and drops empty
/// metadata fields: every ObjectMeta field is `omitempty` in Go, so a real server never returns
/// `finalizers: []` or `labels: {}` (kube-runtime's finalizer helper tests for a missing list).
fn order_object(def: &ResourceDef, obj: &mut Value) {
    let _ = def;
    let Some(m) = obj.as_object_mut() else { return };
    if let Some(meta) = m.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.retain(|_, v| match v {
            Value::Null => false,
            Value::String(s) => !s.is_empty(),
            Value::Array(a) => !a.is_empty(),
            Value::Object(o) => !o.is_empty(),
            _ => true,
        });
    }
    let mut out = Map::new();
    for k in ["kind", "apiVersion", "metadata"] {
        if let Some(v) = m.remove(k) {
            out.insert(k.into(), v);
        }
    }
    let status = m.remove("status");
    out.extend(std::mem::take(m));
    if let Some(s) = status {
        out.insert("status".into(), s);
    }
    *m = out;
}

pub fn update(store: &Store, req: &Req<'_>) -> Reply {
    let def = req.def;
    let body = parse_body(def, req.body)?;
    strict_check(req, &body)?;
    let url_name = req.name().to_string();
    if let Some(n) = meta_str(&body, "name")
        && n != url_name
    {
        return Err(ApiError::BadRequest(format!(
            "the name of the object ({n}) does not match the name on the URL ({url_name})"
        )));
    }
    if def.namespaced
        && let Some(n) = meta_str(&body, "namespace").filter(|n| !n.is_empty())
        && Some(n) != req.ns()
    {
        return Err(ApiError::BadRequest(
            "the namespace of the provided object does not match the namespace sent on the request"
                .into(),
        ));
    }
    let mut txn = store.txn();
    let k = key(req.ns(), &url_name);
    let Some(old) = txn.get(def.storage, &k).cloned() else {
        return Err(ApiError::not_found(def, &url_name));
    };
    let body_rv = meta_str(&body, "resourceVersion").unwrap_or("").to_string();
    if body_rv.is_empty() && def.update_requires_rv && !req.is_status() {
        let c = Cause::invalid(
            "metadata.resourceVersion",
            &json!(""),
            "must be specified for an update",
        );
        return Err(ApiError::invalid(def, &url_name, vec![c.clone(), c]));
    }
    if !body_rv.is_empty() && Some(body_rv.as_str()) != meta_str(&old, "resourceVersion") {
        return Err(ApiError::conflict(def, &url_name));
    }
    let new = to_storage(def, &body);
    let manager = req.manager();
    let time = util::now_rfc3339();
    let api_version = def.api_version();
    let writer = Writer {
        manager: &manager,
        api_version: &api_version,
        subresource: req.sub.as_deref(),
        time: &time,
    };
    finish_update(&mut txn, req, &old, new, Managed::Update(writer), false)
}

/// Merges a requested state with the stored one (status vs main resource, system metadata),
/// runs admission and writes it unless nothing changed.
fn finish_update(
    txn: &mut Txn,
    req: &Req<'_>,
    old: &Value,
    requested: Value,
    managed: Managed<'_>,
    is_patch: bool,
) -> Reply {
    let def = req.def;
    let name = req.name().to_string();
    decode_check(def, &requested, is_patch)?;
    let mut new = if req.is_status() {
        let mut n = old.clone();
        if let Some(m) = n.as_object_mut() {
            match requested.get("status") {
                Some(s) => m.insert("status".into(), s.clone()),
                None => m.remove("status"),
            };
        }
        if matches!(managed, Managed::Preset)
            && let Some(mf) = requested.pointer("/metadata/managedFields")
        {
            meta_mut(&mut n).insert("managedFields".into(), mf.clone());
        }
        n
    } else {
        let mut n = requested;
        if def.status
            && let Some(m) = n.as_object_mut()
        {
            match old.get("status") {
                Some(s) => m.insert("status".into(), s.clone()),
                None => m.remove("status"),
            };
        }
        let old_meta = old.get("metadata").cloned().unwrap_or(json!({}));
        let meta = meta_mut(&mut n);
        for k in [
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
            "name",
            "namespace",
        ] {
            match old_meta.get(k) {
                Some(v) => meta.insert(k.into(), v.clone()),
                None => meta.remove(k),
            };
        }
        meta.remove("selfLink");
        if !meta.contains_key("managedFields")
            && let Some(mf) = old_meta.get("managedFields")
        {
            meta.insert("managedFields".into(), mf.clone());
        }
        n
    };
    if let Some(m) = new.as_object_mut() {
        m.insert(
            "kind".into(),
            json!(if def.view == View::EventsV1 {
                "Event"
            } else {
                def.kind
            }),
        );
        m.insert(
            "apiVersion".into(),
            json!(if def.view == View::EventsV1 {
                "v1".to_string()
            } else {
                def.api_version()
            }),
        );
    }
    admission::admit(def, Op::Update, Some(old), &mut new, txn)?;
    let terminating = old.pointer("/metadata/deletionTimestamp").is_some();
    if terminating {
        let before = finalizers(old);
        let added: Vec<String> = finalizers(&new)
            .into_iter()
            .filter(|f| !before.contains(f))
            .collect();
        if !added.is_empty() {
            let list: Vec<String> = added.iter().map(|f| format!("\"{f}\"")).collect();
            let c = Cause::forbidden(
                "metadata.finalizers",
                &format!(
                    "no new finalizers can be added if the object is being deleted, found new finalizers []string{{{}}}",
                    list.join(", ")
                ),
            );
            return Err(ApiError::invalid(def, &name, vec![c.clone(), c]));
        }
    }
    if def.generation {
        let strip = |v: &Value| {
            let mut v = v.clone();
            if let Some(m) = v.as_object_mut() {
                m.remove("metadata");
                m.remove("status");
            }
            v
        };
        if strip(old) != strip(&new) {
            let g = old
                .pointer("/metadata/generation")
                .and_then(Value::as_i64)
                .unwrap_or(1);
            meta_mut(&mut new).insert("generation".into(), json!(g + 1));
        }
    }
    let explicit_mf =
        new.pointer("/metadata/managedFields") != old.pointer("/metadata/managedFields");
    if let Managed::Update(w) = &managed
        && !explicit_mf
    {
        let view = |v: &Value| {
            let mut s = managed::strip_system(v);
            if let Some(m) = s.as_object_mut() {
                if req.is_status() {
                    m.retain(|k, _| k == "status");
                } else if def.status {
                    m.remove("status");
                }
            }
            s
        };
        let entries = managed::record_update(Some(old), &view(old), &view(&new), w);
        meta_mut(&mut new).insert("managedFields".into(), Value::Array(entries));
    }
    meta_mut(&mut new).insert(
        "resourceVersion".into(),
        old.pointer("/metadata/resourceVersion")
            .cloned()
            .unwrap_or(json!("")),
    );
    order_object(def, &mut new);
    let without_mf = |v: &Value| {
        let mut v = v.clone();
        if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
            m.remove("managedFields");
        }
        v
    };
    if without_mf(old) == without_mf(&new)
        && !(explicit_mf && matches!(managed, Managed::Update(_)))
    {
        return Ok((200, to_view(def, old)));
    }
    if req.dry_run() {
        return Ok((200, to_view(def, &new)));
    }
    let k = key(req.ns(), &name);
    if terminating && finalizers(&new).is_empty() {
        // The last finalizer is gone: the update becomes the deletion. The response shows the
        // object as it was about to be written (previous resourceVersion); the DELETED event
        // carries the last stored state.
        txn.delete(def.storage, &k, old.clone());
        return Ok((200, to_view(def, &new)));
    }
    let stored = txn.put(def.storage, k, new);
    Ok((200, to_view(def, &stored)))
}

pub fn patch(store: &Store, req: &Req<'_>) -> Reply {
    let def = req.def;
    let ct = req
        .content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let is_apply = ct == "application/apply-patch+yaml";
    if !matches!(
        ct.as_str(),
        "application/json-patch+json"
            | "application/merge-patch+json"
            | "application/strategic-merge-patch+json"
    ) && !is_apply
    {
        return Err(ApiError::UnsupportedMediaType);
    }
    let body: Value = if is_apply {
        let text = String::from_utf8_lossy(req.body);
        match serde_json::from_str::<Value>(&text) {
            Ok(v) => v,
            Err(_) => serde_saphyr::from_str::<Value>(&text)
                .map_err(|e| ApiError::BadRequest(format!("error decoding YAML: {e}")))?,
        }
    } else {
        serde_json::from_slice(req.body)
            .map_err(|e| ApiError::BadRequest(format!("error decoding patch: {e}")))?
    };
    let manager = req.manager();
    if is_apply && req.query.get("fieldManager").is_none_or(|m| m.is_empty()) {
        return Err(ApiError::InvalidOptions {
            kind: "PatchOptions".into(),
            causes: vec![Cause::required(
                "fieldManager",
                "is required for apply patch",
            )],
        });
    }
    let time = util::now_rfc3339();
    let api_version = def.api_version();
    let writer = Writer {
        manager: &manager,
        api_version: &api_version,
        subresource: req.sub.as_deref(),
        time: &time,
    };
    let name = req.name().to_string();
    let mut txn = store.txn();
    let k = key(req.ns(), &name);
    let old = txn.get(def.storage, &k).cloned();
    if is_apply {
        if !body.is_object() {
            return Err(ApiError::BadRequest("apply patch must be an object".into()));
        }
        check_kind(def, &body)?;
        strict_check(req, &body)?;
        if let Some(n) = meta_str(&body, "name")
            && n != name
        {
            return Err(ApiError::BadRequest(format!(
                "the name of the object ({n}) does not match the name on the URL ({name})"
            )));
        }
        let force = req
            .query
            .get("force")
            .is_some_and(|f| f == "true" || f == "1");
        let mut cfg = managed::strip_system(&to_storage(def, &body));
        if let Some(m) = cfg.as_object_mut() {
            if req.is_status() {
                m.retain(|k, _| k == "status");
            } else if def.status {
                m.remove("status");
            }
        }
        let old_view = old.as_ref();
        let merged = managed::apply(old_view, &cfg, force, &writer)
            .map_err(|causes| ApiError::ApplyConflict { causes })?;
        return match old {
            None => {
                if req.is_status() {
                    return Err(ApiError::not_found(def, &name));
                }
                let mut view = to_view(def, &merged);
                meta_mut(&mut view).insert("name".into(), json!(name));
                create_object(&mut txn, req, view, Managed::Preset)
            }
            Some(old) => {
                let mut merged = merged;
                // Patch results keep the stored identity; apply never carries a precondition.
                meta_mut(&mut merged).insert("name".into(), json!(name));
                finish_update(&mut txn, req, &old, merged, Managed::Preset, true)
            }
        };
    }
    let Some(old) = old else {
        return Err(ApiError::not_found(def, &name));
    };
    let old_view = to_view(def, &old);
    let patched = match ct.as_str() {
        "application/json-patch+json" => patch::json_patch(&old_view, &body),
        "application/merge-patch+json" => {
            if !body.is_object() {
                return Err(ApiError::BadRequest(
                    "merge patch must be a JSON object".into(),
                ));
            }
            Ok(patch::merge_patch(&old_view, &body))
        }
        _ => patch::strategic_merge(&old_view, &body),
    };
    let patched = match patched {
        Ok(p) => p,
        Err(PatchError::Decode(m)) => return Err(ApiError::BadRequest(m)),
        Err(PatchError::Apply(_)) => return Err(ApiError::InvalidGeneric),
    };
    if !patched.is_object() {
        return Err(ApiError::InvalidGeneric);
    }
    strict_check(req, &patched)?;
    if let Some(rv) = meta_str(&patched, "resourceVersion")
        && Some(rv) != meta_str(&old, "resourceVersion")
    {
        return Err(ApiError::conflict(def, &name));
    }
    if meta_str(&patched, "name") != Some(name.as_str()) {
        return Err(ApiError::BadRequest(format!(
            "the name of the object ({}) does not match the name on the URL ({name})",
            meta_str(&patched, "name").unwrap_or("")
        )));
    }
    let requested = to_storage(def, &patched);
    finish_update(
        &mut txn,
        req,
        &old,
        requested,
        Managed::Update(writer),
        true,
    )
}

/// DeleteOptions from the body and query.
struct DeleteOpts {
    rv: Option<String>,
    uid: Option<String>,
    propagation: Option<String>,
}

fn delete_opts(req: &Req<'_>) -> Result<DeleteOpts, ApiError> {
    let body: Value = if req.body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        serde_json::from_slice(req.body)
            .map_err(|e| ApiError::BadRequest(format!("invalid DeleteOptions: {e}")))?
    };
    if !body.is_object()
        || body
            .get("preconditions")
            .is_some_and(|p| !p.is_object() && !p.is_null())
    {
        return Err(ApiError::BadRequest(
            "invalid DeleteOptions: preconditions must be an object".into(),
        ));
    }
    let s = |p: &str| body.pointer(p).and_then(Value::as_str).map(String::from);
    Ok(DeleteOpts {
        rv: s("/preconditions/resourceVersion"),
        uid: s("/preconditions/uid"),
        propagation: s("/propagationPolicy")
            .or_else(|| req.query.get("propagationPolicy").cloned()),
    })
}

pub fn delete(store: &Store, req: &Req<'_>) -> Reply {
    let opts = delete_opts(req)?;
    // NamespaceLifecycle keeps the system namespaces.
    if req.def.storage == "namespaces"
        && matches!(req.name(), "default" | "kube-system" | "kube-public")
    {
        return Err(ApiError::Forbidden {
            message: format!(
                "namespaces \"{}\" is forbidden: this namespace may not be deleted",
                req.name()
            ),
            resource: "namespaces".into(),
            name: req.name().into(),
            causes: vec![],
        });
    }
    let mut txn = store.txn();
    delete_one(
        &mut txn,
        req.def,
        req.ns(),
        req.name(),
        &opts,
        req.dry_run(),
    )
}

fn delete_one(
    txn: &mut Txn,
    def: &ResourceDef,
    ns: Option<&str>,
    name: &str,
    opts: &DeleteOpts,
    dry_run: bool,
) -> Reply {
    let k = key(ns, name);
    let Some(old) = txn.get(def.storage, &k).cloned() else {
        return Err(ApiError::not_found(def, name));
    };
    let current_rv = meta_str(&old, "resourceVersion").unwrap_or("").to_string();
    let uid = meta_str(&old, "uid").unwrap_or("").to_string();
    let precondition = |message: String| ApiError::PreconditionConflict {
        group: def.internal_group.into(),
        kind: def.kind.into(),
        name: name.into(),
        message,
    };
    if let Some(rv) = &opts.rv
        && *rv != current_rv
    {
        return Err(precondition(format!(
            "the ResourceVersion in the precondition ({rv}) does not match the ResourceVersion in record ({current_rv}). The object might have been modified"
        )));
    }
    if let Some(u) = &opts.uid
        && *u != uid
    {
        return Err(precondition(format!(
            "the UID in the precondition ({u}) does not match the UID in record ({uid}). The object might be a recreated one"
        )));
    }
    if old.pointer("/metadata/deletionTimestamp").is_some() {
        return Ok((200, to_view(def, &old)));
    }
    let mut fins = finalizers(&old);
    if opts.propagation.as_deref() == Some("Foreground")
        && !fins.iter().any(|f| f == "foregroundDeletion")
    {
        fins.push("foregroundDeletion".into());
    }
    let is_namespace = def.storage == "namespaces";
    if fins.is_empty() && !is_namespace {
        if !dry_run {
            txn.delete(def.storage, &k, old.clone());
        }
        return Ok((200, delete_success(def, name, &uid)));
    }
    let mut new = old.clone();
    {
        let meta = meta_mut(&mut new);
        meta.insert("deletionTimestamp".into(), json!(util::now_rfc3339()));
        meta.insert("deletionGracePeriodSeconds".into(), json!(0));
        if !fins.is_empty() {
            meta.insert("finalizers".into(), json!(fins));
        }
        if def.generation {
            let g = meta.get("generation").and_then(Value::as_i64).unwrap_or(1);
            meta.insert("generation".into(), json!(g + 1));
        }
    }
    if is_namespace && let Some(status) = new.get_mut("status").and_then(Value::as_object_mut) {
        status.insert("phase".into(), json!("Terminating"));
    }
    order_object(def, &mut new);
    if dry_run {
        return Ok((200, to_view(def, &new)));
    }
    let stored = txn.put(def.storage, k, new);
    Ok((200, to_view(def, &stored)))
}

pub fn delete_collection(store: &Store, req: &Req<'_>) -> Reply {
    let def = req.def;
    if !def.deletecollection {
        return Err(ApiError::MethodNotAllowed);
    }
    let opts = delete_opts(req)?;
    let (labels, fields) = selectors(req)?;
    let mut txn = store.txn();
    let victims: Vec<Value> = txn
        .list(def.storage, req.ns())
        .into_iter()
        .filter(|o| labels.matches(o) && fields.matches(o))
        .collect();
    let mut items = Vec::new();
    for v in victims {
        let ns = meta_str(&v, "namespace").map(String::from);
        let name = meta_str(&v, "name").unwrap_or("").to_string();
        if delete_one(&mut txn, def, ns.as_deref(), &name, &opts, req.dry_run()).is_ok() {
            items.push(strip_kind(to_view(def, &v)));
        }
    }
    Ok((
        200,
        json!({"kind": def.list_kind(), "apiVersion": def.api_version(),
        "metadata": {"resourceVersion": txn.current_rv().to_string()}, "items": items}),
    ))
}

fn strip_kind(mut v: Value) -> Value {
    if let Some(m) = v.as_object_mut() {
        m.remove("kind");
        m.remove("apiVersion");
    }
    v
}

pub fn selectors(req: &Req<'_>) -> Result<(LabelSelector, FieldSelector), ApiError> {
    let labels = LabelSelector::parse(
        req.query
            .get("labelSelector")
            .map(String::as_str)
            .unwrap_or(""),
    )
    .map_err(|e| ApiError::BadRequest(e.0))?;
    let aliases: &[(&str, &str)] = if req.def.view == View::EventsV1 {
        events::FIELD_ALIASES
    } else {
        &[]
    };
    let fields = FieldSelector::parse(
        req.query
            .get("fieldSelector")
            .map(String::as_str)
            .unwrap_or(""),
        req.def.field_labels,
        aliases,
    )
    .map_err(|e| ApiError::BadRequest(e.0))?;
    Ok((labels, fields))
}

fn parse_rv(s: &str) -> Result<u64, ApiError> {
    s.parse::<u64>()
        .map_err(|_| ApiError::BadRequest(format!("invalid resource version: {s}")))
}

#[derive(serde::Serialize, serde::Deserialize)]
struct ContinueToken {
    v: String,
    rv: u64,
    start: String,
}

fn encode_token(rv: u64, ns: &str, name: &str) -> String {
    let t = ContinueToken {
        v: "meta.k8s.io/v1".into(),
        rv,
        start: format!("{ns}/{name}\u{0}"),
    };
    hex::encode(serde_json::to_vec(&t).unwrap_or_default())
}

fn decode_token(s: &str) -> Result<ContinueToken, ApiError> {
    let bytes = hex::decode(s).map_err(|e| {
        ApiError::BadRequest(format!(
            "invalid continue token: continue key is not valid: {e}"
        ))
    })?;
    serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::BadRequest(format!(
            "invalid continue token: continue key is not valid: {e}"
        ))
    })
}

/// Items of a list request after selectors, with the list resourceVersion.
pub struct Listing {
    pub rv: u64,
    pub items: Vec<Value>,
    pub continue_token: Option<String>,
    pub remaining: Option<usize>,
}

pub fn list_items(store: &Store, req: &Req<'_>) -> Result<Listing, ApiError> {
    let (labels, fields) = selectors(req)?;
    let rv_param = req
        .query
        .get("resourceVersion")
        .filter(|s| !s.is_empty())
        .cloned();
    let rv_match = req
        .query
        .get("resourceVersionMatch")
        .filter(|s| !s.is_empty())
        .cloned();
    let cont = req.query.get("continue").filter(|s| !s.is_empty()).cloned();
    if rv_match.is_some() && rv_param.is_none() {
        return Err(ApiError::InvalidOptions {
            kind: "ListOptions".into(),
            causes: vec![Cause::forbidden(
                "resourceVersionMatch",
                "resourceVersionMatch is forbidden unless resourceVersion is provided",
            )],
        });
    }
    if cont.is_some() && rv_param.as_deref().is_some_and(|r| r != "0") {
        return Err(ApiError::BadRequest(
            "specifying resource version is not allowed when using continue".into(),
        ));
    }
    let txn = store.txn();
    let current = txn.current_rv();
    if let Some(r) = &rv_param {
        let r = parse_rv(r)?;
        if r > current {
            return Err(ApiError::TooLargeResourceVersion(format!(
                "Timeout: Too large resource version: {r}, current: {current}"
            )));
        }
        if rv_match.as_deref() == Some("Exact") && r != current && r < txn.compacted() {
            return Err(ApiError::Gone(
                "The resourceVersion for the provided list is too old.".into(),
            ));
        }
    }
    let limit = req
        .query
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .filter(|l| *l > 0 && rv_param.as_deref() != Some("0"));
    let mut start_after: Option<String> = None;
    let mut list_rv = current;
    if let Some(c) = &cont {
        let t = decode_token(c)?;
        if t.rv < txn.compacted() {
            return Err(ApiError::Gone("The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.".into()));
        }
        list_rv = t.rv;
        start_after = Some(t.start.trim_end_matches('\u{0}').to_string());
    }
    if rv_match.as_deref() == Some("Exact")
        && let Some(r) = rv_param.as_deref().and_then(|r| r.parse::<u64>().ok())
    {
        list_rv = r;
    }
    let ns = if req.def.namespaced { req.ns() } else { None };
    // Later pages and Exact lists are read at their revision, like etcd snapshots.
    let objects = if list_rv < current {
        txn.list_at(req.def.storage, ns, list_rv)
    } else {
        txn.list(req.def.storage, ns)
    };
    let all: Vec<Value> = objects
        .into_iter()
        .filter(|o| labels.matches(o) && fields.matches(o))
        .filter(|o| {
            let k = format!(
                "{}/{}",
                meta_str(o, "namespace").unwrap_or(""),
                meta_str(o, "name").unwrap_or("")
            );
            start_after.as_ref().is_none_or(|s| k.as_str() > s.as_str())
        })
        .collect();
    let total = all.len();
    let (items, continue_token, remaining) = match limit {
        Some(l) if total > l => {
            let page: Vec<Value> = all.into_iter().take(l).collect();
            let last = page.last().cloned().unwrap_or(json!({}));
            let tok = encode_token(
                list_rv,
                meta_str(&last, "namespace").unwrap_or(""),
                meta_str(&last, "name").unwrap_or(""),
            );
            (page, Some(tok), Some(total - l))
        }
        _ => (all, None, None),
    };
    Ok(Listing {
        rv: list_rv,
        items,
        continue_token,
        remaining,
    })
}

pub fn list(store: &Store, req: &Req<'_>) -> Reply {
    let l = list_items(store, req)?;
    let mut meta = Map::new();
    meta.insert("resourceVersion".into(), json!(l.rv.to_string()));
    if let Some(c) = l.continue_token {
        meta.insert("continue".into(), json!(c));
    }
    if let Some(r) = l.remaining {
        meta.insert("remainingItemCount".into(), json!(r));
    }
    let items: Vec<Value> = l
        .items
        .iter()
        .map(|o| strip_kind(to_view(req.def, o)))
        .collect();
    Ok((
        200,
        json!({"kind": req.def.list_kind(), "apiVersion": req.def.api_version(), "metadata": Value::Object(meta), "items": items}),
    ))
}

/// Seeds the objects a fresh cluster has: the four namespaces and the `kubernetes` Service.
pub fn bootstrap(store: &Store, listen_port: u16) {
    let mut txn = store.txn();
    let now = util::now_rfc3339();
    for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        let obj = json!({
            "kind": "Namespace", "apiVersion": "v1",
            "metadata": {"name": ns, "uid": uuid::Uuid::new_v4().to_string(), "creationTimestamp": now,
                "labels": {"kubernetes.io/metadata.name": ns},
                "managedFields": [{"manager": "kube-apiserver", "operation": "Update", "apiVersion": "v1", "time": now,
                    "fieldsType": "FieldsV1", "fieldsV1": {"f:metadata": {"f:labels": {".": {}, "f:kubernetes.io/metadata.name": {}}}}}]},
            "spec": {"finalizers": ["kubernetes"]},
            "status": {"phase": "Active"}
        });
        txn.put("namespaces", key(None, ns), obj);
    }
    let svc = json!({
        "kind": "Service", "apiVersion": "v1",
        "metadata": {"name": "kubernetes", "namespace": "default", "uid": uuid::Uuid::new_v4().to_string(),
            "creationTimestamp": now, "labels": {"component": "apiserver", "provider": "kubernetes"},
            "managedFields": [{"manager": "kube-apiserver", "operation": "Update", "apiVersion": "v1", "time": now,
                "fieldsType": "FieldsV1", "fieldsV1": {"f:metadata": {"f:labels": {".": {}, "f:component": {}, "f:provider": {}}},
                "f:spec": {"f:clusterIP": {}, "f:ports": {".": {}, "k:{\"port\":443,\"protocol\":\"TCP\"}": {".": {},
                "f:name": {}, "f:port": {}, "f:protocol": {}, "f:targetPort": {}}}, "f:sessionAffinity": {}, "f:type": {}}}}]},
        "spec": {"ports": [{"name": "https", "protocol": "TCP", "port": 443, "targetPort": listen_port}],
            "clusterIP": "10.96.0.1", "clusterIPs": ["10.96.0.1"], "type": "ClusterIP", "sessionAffinity": "None",
            "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack", "internalTrafficPolicy": "Cluster"},
        "status": {"loadBalancer": {}}
    });
    txn.put("services", key(Some("default"), "kubernetes"), svc);
}

/// Namespace controller: deletes the contents of terminating namespaces and removes each
/// namespace once it is empty. Returns whether any namespace is still terminating.
pub fn reap_namespaces(store: &Store) -> bool {
    let mut txn = store.txn();
    let terminating: Vec<String> = txn
        .list("namespaces", None)
        .iter()
        .filter(|n| n.pointer("/metadata/deletionTimestamp").is_some())
        .filter_map(|n| meta_str(n, "name").map(String::from))
        .collect();
    let opts = DeleteOpts {
        rv: None,
        uid: None,
        propagation: None,
    };
    for ns in &terminating {
        let contents = txn.in_namespace(ns);
        for (storage, obj) in &contents {
            let Some(def) = crate::resources::by_storage(storage) else {
                continue;
            };
            let name = meta_str(obj, "name").unwrap_or("").to_string();
            let _ = delete_one(&mut txn, def, Some(ns), &name, &opts, false);
        }
        if txn.in_namespace(ns).is_empty()
            && let Some(n) = txn.get("namespaces", &key(None, ns)).cloned()
        {
            txn.delete("namespaces", &key(None, ns), n);
        }
    }
    !terminating.is_empty()
}

/// The autoscaling/v1 Scale view of a Deployment or ReplicaSet.
fn scale_of(obj: &Value) -> Value {
    let meta = obj.get("metadata").cloned().unwrap_or(json!({}));
    let pick = |k: &str| meta.get(k).cloned().unwrap_or(Value::Null);
    let selector = obj
        .pointer("/spec/selector/matchLabels")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    json!({
        "kind": "Scale", "apiVersion": "autoscaling/v1",
        "metadata": {"name": pick("name"), "namespace": pick("namespace"), "uid": pick("uid"),
                     "resourceVersion": pick("resourceVersion"), "creationTimestamp": pick("creationTimestamp")},
        "spec": {"replicas": obj.pointer("/spec/replicas").cloned().unwrap_or(json!(0))},
        "status": {"replicas": obj.pointer("/status/replicas").cloned().unwrap_or(json!(0)), "selector": selector}
    })
}

pub fn get_scale(store: &Store, req: &Req<'_>) -> Reply {
    let txn = store.txn();
    match txn.get(req.def.storage, &key(req.ns(), req.name())) {
        Some(o) => Ok((200, scale_of(o))),
        None => Err(ApiError::not_found(req.def, req.name())),
    }
}

/// PUT or PATCH of `/scale`: only `spec.replicas` reaches the object.
pub fn update_scale(store: &Store, req: &Req<'_>) -> Reply {
    let def = req.def;
    let name = req.name().to_string();
    let body: Value = serde_json::from_slice(req.body)
        .map_err(|e| ApiError::BadRequest(format!("error decoding Scale: {e}")))?;
    let mut txn = store.txn();
    let k = key(req.ns(), &name);
    let Some(old) = txn.get(def.storage, &k).cloned() else {
        return Err(ApiError::not_found(def, &name));
    };
    let current = scale_of(&old);
    let ct = req.content_type.split(';').next().unwrap_or("").trim();
    let wanted = match ct {
        "application/json-patch+json" => {
            patch::json_patch(&current, &body).map_err(|_| ApiError::InvalidGeneric)?
        }
        "application/merge-patch+json" => patch::merge_patch(&current, &body),
        "application/strategic-merge-patch+json" => {
            patch::strategic_merge(&current, &body).map_err(|_| ApiError::InvalidGeneric)?
        }
        _ if req.content_type.is_empty() || ct.contains("json") => body,
        _ => return Err(ApiError::UnsupportedMediaType),
    };
    if let Some(rv) = meta_str(&wanted, "resourceVersion").filter(|r| !r.is_empty())
        && Some(rv) != meta_str(&old, "resourceVersion")
    {
        return Err(ApiError::conflict(def, &name));
    }
    let Some(replicas) = wanted
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .filter(|r| *r >= 0)
    else {
        return Err(ApiError::Invalid {
            group: "autoscaling".into(),
            kind: "Scale".into(),
            name: name.clone(),
            causes: vec![Cause::invalid(
                "spec.replicas",
                wanted.pointer("/spec/replicas").unwrap_or(&Value::Null),
                "must be greater than or equal to 0",
            )],
        });
    };
    let mut requested = old.clone();
    if let Some(spec) = requested.get_mut("spec").and_then(Value::as_object_mut) {
        spec.insert("replicas".into(), json!(replicas));
    }
    let manager = req.manager();
    let time = util::now_rfc3339();
    let api_version = def.api_version();
    let writer = Writer {
        manager: &manager,
        api_version: &api_version,
        subresource: Some("scale"),
        time: &time,
    };
    let (code, obj) = finish_update(
        &mut txn,
        req,
        &old,
        requested,
        Managed::Update(writer),
        true,
    )?;
    Ok((code, scale_of(&obj)))
}

/// Stand-in for the Deployment controller (opt-in): reports every Deployment as fully rolled
/// out at its current generation, so `kubectl rollout status` and `kubectl wait` complete.
pub fn simulate_deployment_status(store: &Store, ns: &str, name: &str) {
    let mut txn = store.txn();
    let k = key(Some(ns), name);
    let Some(obj) = txn.get("deployments.apps", &k).cloned() else {
        return;
    };
    if obj.pointer("/metadata/deletionTimestamp").is_some() {
        return;
    }
    let generation = obj
        .pointer("/metadata/generation")
        .cloned()
        .unwrap_or(json!(1));
    let replicas = obj
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let now = util::now_rfc3339();
    let mut status = Map::new();
    status.insert("observedGeneration".into(), generation);
    if replicas > 0 {
        for k in [
            "replicas",
            "updatedReplicas",
            "readyReplicas",
            "availableReplicas",
        ] {
            status.insert(k.into(), json!(replicas));
        }
    }
    let cond = |ty: &str, reason: &str, msg: String, old: &Value| {
        // Keep transition times stable when nothing changed, so the status settles.
        let prev = old
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .and_then(|a| {
                a.iter()
                    .find(|c| c.get("type").and_then(Value::as_str) == Some(ty))
            })
            .filter(|c| c.get("reason").and_then(Value::as_str) == Some(reason));
        let t = |f: &str| prev.and_then(|c| c.get(f)).cloned().unwrap_or(json!(now));
        json!({"type": ty, "status": "True", "lastUpdateTime": t("lastUpdateTime"),
               "lastTransitionTime": t("lastTransitionTime"), "reason": reason, "message": msg})
    };
    status.insert(
        "conditions".into(),
        json!([
            cond(
                "Available",
                "MinimumReplicasAvailable",
                "Deployment has minimum availability.".into(),
                &obj
            ),
            cond(
                "Progressing",
                "NewReplicaSetAvailable",
                format!("ReplicaSet \"{name}\" has successfully progressed."),
                &obj
            ),
        ]),
    );
    let status = Value::Object(status);
    if obj.get("status") == Some(&status) {
        return;
    }
    let mut new = obj;
    if let Some(m) = new.as_object_mut() {
        m.insert("status".into(), status);
    }
    txn.put("deployments.apps", k, new);
}
