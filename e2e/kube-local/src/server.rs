//! HTTP edge: authentication, routing of Kubernetes paths onto the resource table, content
//! negotiation (JSON or Table), and watch streams.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::response::Response;
use http::{HeaderValue, Method, StatusCode, header};
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};

use crate::api::{self, Req};
use crate::discovery;
use crate::errors::ApiError;
use crate::resources::{self, ResourceDef};
use crate::store::{ChangeKind, Store, WatchStart};
use crate::table;

pub struct AppState {
    pub store: Arc<Store>,
    pub token: Option<String>,
    pub server_address: String,
    pub bookmark_interval: Duration,
    pub default_watch_timeout: Duration,
}

const MAX_BODY: usize = 16 * 1024 * 1024;

fn json_response(code: u16, body: &Value) -> Response {
    let mut bytes = serde_json::to_vec(body).unwrap_or_default();
    bytes.push(b'\n');
    raw_response(code, "application/json", bytes)
}

fn raw_response(code: u16, content_type: &'static str, body: Vec<u8>) -> Response {
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, private"),
    );
    resp
}

fn error_response(e: &ApiError) -> Response {
    json_response(e.code(), &e.status())
}

fn plain_404() -> Response {
    raw_response(
        404,
        "text/plain; charset=utf-8",
        b"404 page not found\n".to_vec(),
    )
}

fn parse_query(q: Option<&str>) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for pair in q.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let dec = |s: &str| {
            percent_encoding::percent_decode_str(&s.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        };
        out.insert(dec(k), dec(v));
    }
    out
}

/// What the client accepts.
#[derive(Debug, PartialEq)]
enum Accept {
    Json,
    Table,
    /// `as=PartialObjectMetadata[List]`: metadata only (kube-rs metadata watches).
    Metadata,
    Unacceptable,
}

/// The PartialObjectMetadata form of an object.
fn partial(obj: &Value) -> Value {
    json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
           "metadata": obj.get("metadata").cloned().unwrap_or(json!({}))})
}

/// Rewrites a successful JSON answer into its metadata-only form.
fn to_metadata(body: Value) -> Value {
    if body.get("kind").and_then(Value::as_str) == Some("Status") {
        return body;
    }
    match body.get("items").and_then(Value::as_array) {
        Some(items) => json!({"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1",
            "metadata": body.get("metadata").cloned().unwrap_or(json!({})),
            "items": items.iter().map(partial).collect::<Vec<_>>()}),
        None => partial(&body),
    }
}

fn negotiate(accept: &str) -> Accept {
    if accept.trim().is_empty() {
        return Accept::Json;
    }
    let mut json_ok = false;
    for part in accept.split(',') {
        let p = part.trim().to_ascii_lowercase();
        if p.contains("as=table") && p.contains("g=meta.k8s.io") {
            return Accept::Table;
        }
        if p.contains("as=partialobjectmetadata") && p.contains("g=meta.k8s.io") {
            return Accept::Metadata;
        }
        if p.contains("as=") {
            continue;
        }
        let mt = p.split(';').next().unwrap_or("").trim();
        if matches!(
            mt,
            "application/json"
                | "*/*"
                | "application/*"
                | "application/yaml"
                | "application/json-patch+json"
        ) || mt.ends_with("+json")
        {
            json_ok = true;
        }
    }
    if json_ok {
        Accept::Json
    } else {
        Accept::Unacceptable
    }
}

pub async fn handle(state: Arc<AppState>, req: Request) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let query = parse_query(req.uri().query());
    let ua = req
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    // kube-apiserver indents JSON for humans (?pretty=true, curl, wget, browsers) and always
    // for /version; watches stay one object per line.
    let pretty = path == "/version"
        || query.get("pretty").is_some_and(|p| p == "true" || p == "1")
        || ["curl", "Wget", "Mozilla/5.0"]
            .iter()
            .any(|p| ua.starts_with(p));
    let is_watch = query.get("watch").is_some_and(|w| w == "true" || w == "1");
    let mut resp = route(&state, req).await;
    if pretty && !is_watch {
        resp = indent(resp).await;
    }
    tracing::info!(method = %method, path = %path, status = resp.status().as_u16(),
        elapsed_ms = started.elapsed().as_millis() as u64, "request");
    resp
}

async fn indent(resp: Response) -> Response {
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|c| c.as_bytes().starts_with(b"application/json"));
    if !is_json {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_BODY)
        .await
        .unwrap_or_default();
    let out = match serde_json::from_slice::<Value>(&bytes) {
        Ok(v) => {
            let mut b = serde_json::to_vec_pretty(&v).unwrap_or_default();
            b.push(b'\n');
            b
        }
        Err(_) => bytes.to_vec(),
    };
    Response::from_parts(parts, Body::from(out))
}

async fn route(state: &Arc<AppState>, req: Request) -> Response {
    let path = req.uri().path().trim_end_matches('/').to_string();
    let path = if path.is_empty() {
        "/".to_string()
    } else {
        path
    };
    if matches!(path.as_str(), "/healthz" | "/livez" | "/readyz")
        || path.starts_with("/healthz/")
        || path.starts_with("/livez/")
        || path.starts_with("/readyz/")
    {
        let mut r = raw_response(200, "text/plain; charset=utf-8", b"ok".to_vec());
        r.headers_mut().insert(
            "x-content-type-options",
            HeaderValue::from_static("nosniff"),
        );
        return r;
    }
    if let Some(token) = &state.token {
        let got = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if got.strip_prefix("Bearer ").map(str::trim) != Some(token.as_str()) {
            return error_response(&ApiError::Unauthorized);
        }
    }
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let query = parse_query(req.uri().query());
    let segs: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let is_get = req.method() == Method::GET;
    match segs.as_slice() {
        ["version"] if is_get => return json_response(200, &discovery::version()),
        ["openapi", "v3"] if is_get => return json_response(200, &discovery::openapi_v3_root()),
        ["openapi", "v3", rest @ ..] if is_get => {
            return match discovery::openapi_v3_gv(&rest.join("/")) {
                Some(doc) => json_response(200, &doc),
                None => json_response(404, &discovery::root_paths()),
            };
        }
        ["api"] | ["apis"] | ["api", _] | ["apis", _] | ["apis", _, _] if is_get => {
            if negotiate(&accept) == Accept::Unacceptable {
                return error_response(&ApiError::NotAcceptable(
                    "only the following media types are accepted: application/json, application/yaml".into(),
                ));
            }
            let doc = match segs.as_slice() {
                ["api"] => Some(discovery::api_versions(&state.server_address)),
                ["apis"] => Some(discovery::api_group_list()),
                ["api", v] => discovery::resource_list("", v),
                ["apis", g] => discovery::api_group(g),
                ["apis", g, v] => discovery::resource_list(g, v),
                _ => None,
            };
            return match doc {
                Some(d) => json_response(200, &d),
                None => plain_404(),
            };
        }
        _ => {}
    }
    let (group, version, rest): (&str, &str, &[&str]) = match segs.as_slice() {
        ["api", v, rest @ ..] => ("", v, rest),
        ["apis", g, v, rest @ ..] => (g, v, rest),
        _ => return json_response(404, &discovery::root_paths()),
    };
    if resources::in_group_version(group, version).next().is_none() {
        return plain_404();
    }
    let Some((def, namespace, name, sub)) = resolve(group, version, rest) else {
        return error_response(&ApiError::UnknownResource);
    };
    let has_scale = matches!(def.kind, "Deployment" | "ReplicaSet");
    if let Some(s) = &sub
        && !((s == "status" && def.status) || (s == "scale" && has_scale))
    {
        return error_response(&ApiError::UnknownResource);
    }
    let accept_kind = negotiate(&accept);
    if accept_kind == Accept::Unacceptable {
        return error_response(&ApiError::NotAcceptable("406: Not Acceptable".into()));
    }
    let method = req.method().clone();
    let headers = req.headers().clone();
    let body = match axum::body::to_bytes(req.into_body(), MAX_BODY).await {
        Ok(b) => b,
        Err(e) => {
            return error_response(&ApiError::BadRequest(format!(
                "unable to read request body: {e}"
            )));
        }
    };
    let ua = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let body_is_json = ct.is_empty() || ct.contains("json") || ct.contains("yaml");
    let decoded;
    let body: &[u8] = if (method == Method::POST || method == Method::PUT) && !body_is_json {
        // kubectl's typed clients send protobuf; the simple kinds are translated, others get
        // 415 (client-go does not fall back to JSON on its own).
        match crate::protobuf::decode(&body) {
            Ok(v) => {
                decoded = serde_json::to_vec(&v).unwrap_or_default();
                &decoded
            }
            Err(e) => {
                tracing::info!(error = %e, "refusing a protobuf body");
                return error_response(&ApiError::UnsupportedMediaType);
            }
        }
    } else {
        &body
    };
    let ct = if body_is_json { ct } else { "application/json" };
    let areq = Req {
        def,
        namespace,
        name,
        sub,
        query: &query,
        user_agent: ua,
        content_type: ct,
        body,
    };
    let table_wanted = accept_kind == Accept::Table;
    let include_object = query
        .get("includeObject")
        .cloned()
        .unwrap_or_else(|| "Metadata".into());
    let store = &state.store;
    if areq.sub.as_deref() == Some("scale") {
        let result = match method {
            Method::GET => api::get_scale(store, &areq),
            Method::PUT | Method::PATCH => api::update_scale(store, &areq),
            _ => Err(ApiError::MethodNotAllowed),
        };
        return match result {
            Ok((code, body)) => json_response(code, &body),
            Err(e) => error_response(&e),
        };
    }
    if def.is_review() && !(method == Method::POST && areq.name.is_none()) {
        return error_response(&ApiError::MethodNotAllowed);
    }
    let result = match (&method, areq.name.is_some()) {
        (&Method::GET, false) => {
            if query.get("watch").is_some_and(|w| w == "true" || w == "1") {
                return watch(state.clone(), &areq, accept_kind, &include_object);
            }
            if table_wanted {
                api::list_items(store, &areq).map(|l| {
                    let objs: Vec<Value> = l.items.iter().map(|o| api::to_view(def, o)).collect();
                    let mut t = table::table(def, &objs, &l.rv.to_string(), &include_object);
                    if let Some(c) = l.continue_token {
                        t["metadata"]["continue"] = json!(c);
                    }
                    (200, t)
                })
            } else {
                api::list(store, &areq)
            }
        }
        (&Method::POST, false) => api::create(store, &areq),
        (&Method::DELETE, false) => api::delete_collection(store, &areq),
        (&Method::GET, true) => api::get(store, &areq).map(|(c, o)| {
            if table_wanted {
                let rv = o
                    .pointer("/metadata/resourceVersion")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                (
                    c,
                    table::table(def, std::slice::from_ref(&o), &rv, &include_object),
                )
            } else {
                (c, o)
            }
        }),
        (&Method::PUT, true) => api::update(store, &areq),
        (&Method::PATCH, true) => api::patch(store, &areq),
        (&Method::DELETE, true) => api::delete(store, &areq),
        _ => Err(ApiError::MethodNotAllowed),
    };
    match result {
        Ok((code, body)) if accept_kind == Accept::Metadata => {
            json_response(code, &to_metadata(body))
        }
        Ok((code, body)) => json_response(code, &body),
        Err(e) => error_response(&e),
    }
}

type Resolved = (
    &'static ResourceDef,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// Maps the path after the group version onto (resource, namespace, name, subresource).
fn resolve(group: &str, version: &str, rest: &[&str]) -> Option<Resolved> {
    let find = |plural: &str| resources::find(group, version, plural);
    let s = |x: &str| Some(x.to_string());
    match rest {
        ["namespaces", ns, plural, tail @ ..] if find(plural).is_some_and(|d| d.namespaced) => {
            let def = find(plural)?;
            match tail {
                [] => Some((def, s(ns), None, None)),
                [name] => Some((def, s(ns), s(name), None)),
                [name, sub] => Some((def, s(ns), s(name), s(sub))),
                _ => None,
            }
        }
        [plural, tail @ ..] => {
            let def = find(plural)?;
            match tail {
                [] => Some((def, None, None, None)),
                [name] if !def.namespaced => Some((def, None, s(name), None)),
                [name, sub] if !def.namespaced => Some((def, None, s(name), s(sub))),
                _ => None,
            }
        }
        _ => None,
    }
}

fn event_line(kind: &str, object: &Value) -> Bytes {
    let mut b = serde_json::to_vec(&json!({"type": kind, "object": object})).unwrap_or_default();
    b.push(b'\n');
    Bytes::from(b)
}

/// Starts a watch stream: HTTP 200 at once, then one JSON event per line.
fn watch(state: Arc<AppState>, req: &Req<'_>, accept: Accept, include_object: &str) -> Response {
    let def = req.def;
    let table_wanted = accept == Accept::Table;
    let metadata_only = accept == Accept::Metadata;
    let (labels, fields) = match api::selectors(req) {
        Ok(s) => s,
        Err(e) => return error_response(&e),
    };
    let rv_param = req
        .query
        .get("resourceVersion")
        .cloned()
        .filter(|r| !r.is_empty() && r != "0");
    let start_rv = match rv_param.as_deref().map(str::parse::<u64>) {
        Some(Err(_)) => {
            return error_response(&ApiError::BadRequest(format!(
                "invalid resource version: {}",
                rv_param.unwrap_or_default()
            )));
        }
        Some(Ok(r)) => Some(r),
        None => None,
    };
    // Streaming lists: the current state as ADDED events, then a bookmark marking their end.
    let initial_events = req
        .query
        .get("sendInitialEvents")
        .is_some_and(|v| v == "true");
    let start_rv = if initial_events { None } else { start_rv };
    let timeout = req
        .query
        .get("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .filter(|t| *t > 0)
        .map(Duration::from_secs)
        .unwrap_or(state.default_watch_timeout);
    let bookmarks = req
        .query
        .get("allowWatchBookmarks")
        .is_some_and(|b| b == "true" || b == "1");
    let ns = if def.namespaced {
        req.namespace.clone()
    } else {
        None
    };
    let include_object = include_object.to_string();

    // Snapshot + subscription under one lock, so no change falls between them.
    let (initial, mut rx, mut last_rv) = {
        let txn = state.store.txn();
        let current = txn.current_rv();
        match start_rv {
            None => {
                let (_, rx) = txn.watch_from(def.storage, current);
                let objs: Vec<Value> = txn.list(def.storage, ns.as_deref());
                let events: Vec<(ChangeKind, Value)> = objs
                    .into_iter()
                    .filter(|o| labels.matches(o) && fields.matches(o))
                    .map(|o| (ChangeKind::Added, o))
                    .collect();
                (Ok(events), rx, current)
            }
            Some(r) => {
                let (start, rx) = txn.watch_from(def.storage, r);
                match start {
                    WatchStart::TooOld(oldest) => (
                        Err(format!("too old resource version: {r} ({oldest})")),
                        rx,
                        current,
                    ),
                    WatchStart::Replay(changes) => {
                        let events: Vec<(ChangeKind, Value)> = changes
                            .iter()
                            .filter_map(|c| {
                                classify(
                                    c.kind,
                                    &c.object,
                                    c.old.as_ref(),
                                    ns.as_deref(),
                                    &labels,
                                    &fields,
                                )
                            })
                            .collect();
                        (Ok(events), rx, current.max(r))
                    }
                }
            }
        }
    };
    let (tx, out_rx) = mpsc::channel::<Bytes>(256);
    let render = move |kind: ChangeKind, obj: &Value| -> Bytes {
        let view = api::to_view(def, obj);
        if table_wanted {
            let rv = view
                .pointer("/metadata/resourceVersion")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            event_line(
                kind.as_str(),
                &table::table(def, std::slice::from_ref(&view), &rv, &include_object),
            )
        } else if metadata_only {
            event_line(kind.as_str(), &partial(&view))
        } else {
            event_line(kind.as_str(), &view)
        }
    };
    tokio::spawn(async move {
        let events = match initial {
            Err(msg) => {
                let _ = tx
                    .send(event_line("ERROR", &ApiError::Gone(msg).status()))
                    .await;
                return;
            }
            Ok(e) => e,
        };
        for (kind, obj) in &events {
            if tx.send(render(*kind, obj)).await.is_err() {
                return;
            }
        }
        if initial_events && bookmarks {
            let bm = bookmark(def, last_rv, true, metadata_only);
            if tx.send(event_line("BOOKMARK", &bm)).await.is_err() {
                return;
            }
        }
        let deadline = tokio::time::Instant::now() + timeout;
        // The final bookmark goes out shortly before the deadline, as kube-apiserver does.
        let final_bookmark = deadline
            .checked_sub(Duration::from_secs(2))
            .filter(|_| timeout > Duration::from_secs(3));
        let mut final_sent = false;
        let mut next_bookmark = tokio::time::Instant::now() + state.bookmark_interval;
        loop {
            let wake = match final_bookmark {
                Some(fb) if bookmarks && !final_sent => next_bookmark.min(fb),
                _ => next_bookmark,
            };
            tokio::select! {
                msg = rx.recv() => match msg {
                    Ok(c) => {
                        last_rv = last_rv.max(c.rv);
                        if c.storage != def.storage {
                            continue;
                        }
                        if let Some((kind, obj)) = classify(c.kind, &c.object, c.old.as_ref(), ns.as_deref(), &labels, &fields)
                            && tx.send(render(kind, &obj)).await.is_err() {
                                return;
                            }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        // This watcher fell behind the history; make the client re-list.
                        let msg = format!("too old resource version: {last_rv} ({last_rv})");
                        let _ = tx.send(event_line("ERROR", &ApiError::Gone(msg).status())).await;
                        return;
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                },
                _ = tokio::time::sleep_until(deadline) => return,
                _ = tokio::time::sleep_until(wake) => {
                    if bookmarks {
                        let bm = bookmark(def, last_rv, false, metadata_only);
                        if tx.send(event_line("BOOKMARK", &bm)).await.is_err() {
                            return;
                        }
                    }
                    if final_bookmark.is_some_and(|fb| tokio::time::Instant::now() >= fb) {
                        final_sent = true;
                    }
                    next_bookmark = tokio::time::Instant::now() + state.bookmark_interval;
                }
                _ = tx.closed() => return,
            }
        }
    });
    let stream = futures::stream::unfold(out_rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<Bytes, Infallible>(b), rx))
    });
    let mut resp = Response::new(Body::from_stream(stream));
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, private"),
    );
    resp
}

/// An otherwise empty object carrying the resourceVersion a client may resume from.
fn bookmark(def: &ResourceDef, rv: u64, initial_events_end: bool, metadata_only: bool) -> Value {
    let kind = if metadata_only {
        "PartialObjectMetadata"
    } else if def.view == crate::resources::View::EventsV1 {
        "Event"
    } else {
        def.kind
    };
    let mut meta = json!({"resourceVersion": rv.to_string(), "creationTimestamp": null});
    if initial_events_end {
        meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
    }
    let api_version = if metadata_only {
        "meta.k8s.io/v1".to_string()
    } else {
        def.api_version()
    };
    json!({"kind": kind, "apiVersion": api_version, "metadata": meta})
}

/// Turns a store change into the event this watch sees (namespace and selector filtering,
/// enter/leave of a label selector becoming ADDED/DELETED).
fn classify(
    kind: ChangeKind,
    obj: &Value,
    old: Option<&Value>,
    ns: Option<&str>,
    labels: &crate::selectors::LabelSelector,
    fields: &crate::selectors::FieldSelector,
) -> Option<(ChangeKind, Value)> {
    if let Some(n) = ns
        && obj.pointer("/metadata/namespace").and_then(Value::as_str) != Some(n)
    {
        return None;
    }
    let m = |o: &Value| labels.matches(o) && fields.matches(o);
    let now = m(obj);
    match kind {
        ChangeKind::Added => now.then(|| (ChangeKind::Added, obj.clone())),
        ChangeKind::Deleted => now.then(|| (ChangeKind::Deleted, obj.clone())),
        ChangeKind::Modified => {
            let before = old.is_some_and(m);
            match (before, now) {
                (true, true) => Some((ChangeKind::Modified, obj.clone())),
                (false, true) => Some((ChangeKind::Added, obj.clone())),
                (true, false) => Some((ChangeKind::Deleted, obj.clone())),
                (false, false) => None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_accept_header_from_kubectl_selects_tables() {
        let a = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
        assert_eq!(negotiate(a), Accept::Table);
        assert_eq!(negotiate("application/json, */*"), Accept::Json);
        assert_eq!(negotiate("text/html"), Accept::Unacceptable);
        assert_eq!(
            negotiate("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"),
            Accept::Unacceptable
        );
    }

    #[test]
    fn paths_resolve_to_namespaced_and_cluster_resources() {
        let (d, ns, name, sub) = resolve(
            "",
            "v1",
            &["namespaces", "default", "services", "web", "status"],
        )
        .expect("svc");
        assert_eq!(
            (d.plural, ns.as_deref(), name.as_deref(), sub.as_deref()),
            ("services", Some("default"), Some("web"), Some("status"))
        );
        let (d, ns, name, _) = resolve("", "v1", &["namespaces", "kube-system"]).expect("ns");
        assert_eq!(
            (d.plural, ns, name.as_deref()),
            ("namespaces", None, Some("kube-system"))
        );
        assert!(resolve("networking.k8s.io", "v1", &["namespaces", "d", "widgets"]).is_none());
    }

    #[test]
    fn label_selector_leave_becomes_deleted() {
        let labels = crate::selectors::LabelSelector::parse("app=pywai").expect("ok");
        let fields = crate::selectors::FieldSelector::default();
        let old = json!({"metadata": {"namespace": "w", "labels": {"app": "pywai"}}});
        let new = json!({"metadata": {"namespace": "w", "labels": {"app": "other"}}});
        let (k, _) = classify(
            ChangeKind::Modified,
            &new,
            Some(&old),
            Some("w"),
            &labels,
            &fields,
        )
        .expect("event");
        assert_eq!(k, ChangeKind::Deleted);
        let (k, _) = classify(
            ChangeKind::Modified,
            &old,
            Some(&new),
            Some("w"),
            &labels,
            &fields,
        )
        .expect("event");
        assert_eq!(k, ChangeKind::Added);
    }
}
