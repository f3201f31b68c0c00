//! The Config API under `/config-api/v1/` and the admin API under `/__admin/`: routing,
//! authentication, access control, fault injection, the request log and the access log.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::{Body, Incoming};
use serde::Serialize;
use serde_json::{Value, json};

use crate::auth::{self, PublicBase};
use crate::cli::User;
use crate::clock;
use crate::faults::{FaultConfig, Faults, Verdict};
use crate::model::{self, Account, FieldError, Instance};
use crate::server::{RespBody, json_response};
use crate::store::{StateDoc, Store, StoreError};

pub const API_PREFIX: &str = "/config-api/v1/";
const ADMIN_PREFIX: &str = "/__admin/";
const MAX_BODY_BYTES: usize = 1024 * 1024;
const BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// The request log keeps the most recent calls only, so a long-running mock stays bounded.
const MAX_LOGGED_REQUESTS: usize = 10_000;
const DEFAULT_PAGE_SIZE: usize = 100;
const MAX_PAGE_SIZE: usize = 1000;

#[derive(Debug, Clone, Serialize)]
pub struct LoggedRequest {
    pub method: String,
    pub path: String,
    pub query: String,
    pub status: u16,
    pub time: String,
}

pub struct App {
    pub users: Vec<User>,
    pub public_base: Option<PublicBase>,
    pub store: Arc<Store>,
    pub faults: Faults,
    pub initial_faults: FaultConfig,
    /// Pins the clock of the signature window (tests of fixed vectors only).
    pub clock_override_ms: Option<u64>,
    pub requests: Mutex<VecDeque<LoggedRequest>>,
}

impl App {
    fn log_request(&self, entry: LoggedRequest) {
        let mut log = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        if log.len() >= MAX_LOGGED_REQUESTS {
            log.pop_front();
        }
        log.push_back(entry);
    }

    fn clear_requests(&self) -> usize {
        let mut log = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        let n = log.len();
        log.clear();
        n
    }
}

/// An API failure rendered as the spec's error body.
#[derive(Debug)]
struct ApiError {
    status: StatusCode,
    message: String,
    errors: Vec<FieldError>,
    retry_after: Option<u64>,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            errors: Vec::new(),
            retry_after: None,
        }
    }

    fn invalid(errors: Vec<FieldError>) -> Self {
        let summary = errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; ");
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message: format!("validation failed: {summary}"),
            errors,
            retry_after: None,
        }
    }

    fn into_response(self) -> Response<RespBody> {
        let mut resp = json_response(
            self.status,
            &error_body(self.status, &self.message, &self.errors),
        );
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            resp.headers_mut().insert(http::header::RETRY_AFTER, v);
        }
        resp
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match &e {
            StoreError::NotFound(_) => ApiError::new(StatusCode::NOT_FOUND, e.to_string()),
            StoreError::Conflict { uuid, .. } => {
                let mut err = ApiError::new(StatusCode::CONFLICT, e.to_string());
                err.errors.push(FieldError {
                    field: "body.publishedUrlPath".into(),
                    message: format!("collides with instance {uuid}"),
                });
                err
            }
            StoreError::Persist { .. } => {
                tracing::error!(error = %e, "state not persisted");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
            }
        }
    }
}

pub fn error_body(status: StatusCode, message: &str, errors: &[FieldError]) -> Value {
    json!({
        "status": status.as_u16(),
        "error": status.canonical_reason().unwrap_or("Error"),
        "message": message,
        "errors": errors,
    })
}

/// Entry point of the API listener.
pub async fn handle(app: Arc<App>, req: Request<Incoming>, peer: SocketAddr) -> Response<RespBody> {
    let started = Instant::now();
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let host = req
        .headers()
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let is_admin = path == "/__admin" || path.starts_with(ADMIN_PREFIX);
    let (resp, principal) = if is_admin {
        (admin(&app, req).await, None)
    } else {
        match api(&app, req).await {
            Ok((resp, principal)) => (resp, principal),
            Err(e) => (e.into_response(), None),
        }
    };
    let status = resp.status().as_u16();
    if !is_admin {
        app.log_request(LoggedRequest {
            method: method.clone(),
            path: path.clone(),
            query: query.clone(),
            status,
            time: clock::rfc3339_ms(clock::now_ms()),
        });
    }
    let line = json!({
        "time": clock::rfc3339_ms(clock::now_ms()),
        "listener": if is_admin { "admin" } else { "api" },
        "client": peer.ip().to_canonical().to_string(),
        "host": host,
        "method": method,
        "path": path,
        "query": query,
        "status": status,
        "bytes": resp.body().size_hint().exact(),
        "duration_ms": crate::millis(started),
        "principal": principal,
    });
    crate::access_log(&line);
    resp
}

#[derive(Debug, PartialEq)]
enum Route {
    Health,
    Create,
    Validate,
    Instance(String),
    List(String),
    Search(String),
}

fn route(path: &str) -> Option<Route> {
    let rest = path.strip_prefix(API_PREFIX)?;
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    let segs: Vec<String> = rest
        .split('/')
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    match segs.as_slice() {
        ["health", "check"] => Some(Route::Health),
        ["svcinst", "delivery"] => Some(Route::Create),
        ["svcinst", "delivery", "validate"] => Some(Route::Validate),
        ["svcinst", "delivery", "shortname", sn] if !sn.is_empty() => {
            Some(Route::List(sn.to_string()))
        }
        ["svcinst", "delivery", "shortname", sn, "searchAuto"] if !sn.is_empty() => {
            Some(Route::Search(sn.to_string()))
        }
        ["svcinst", "delivery", uuid] if !uuid.is_empty() && *uuid != "shortname" => {
            Some(Route::Instance(uuid.to_string()))
        }
        _ => None,
    }
}

fn allowed(route: &Route) -> &'static [Method] {
    match route {
        Route::Health | Route::List(_) | Route::Search(_) => &[Method::GET],
        Route::Create | Route::Validate => &[Method::POST],
        Route::Instance(_) => &[Method::GET, Method::PUT, Method::DELETE],
    }
}

/// Handles one Config API call; returns the response and the authenticated principal.
async fn api(
    app: &App,
    req: Request<Incoming>,
) -> Result<(Response<RespBody>, Option<String>), ApiError> {
    let latency = app.faults.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    match app
        .faults
        .decide(req.method().as_str(), rand::random::<f64>())
    {
        Verdict::Pass => {}
        Verdict::TooMany {
            retry_after_secs,
            reason,
        } => {
            let mut e = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                format!("{reason}; retry after {retry_after_secs} s"),
            );
            e.retry_after = Some(retry_after_secs);
            return Err(e);
        }
        Verdict::Error { rate } => {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("injected fault: {} calls fail at rate {rate}", req.method()),
            ));
        }
    }

    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_string();
    let Some(route) = route(&path) else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no such endpoint: {} {path}", parts.method),
        ));
    };
    if !allowed(&route).contains(&parts.method) {
        let allow = allowed(&route)
            .iter()
            .map(Method::as_str)
            .collect::<Vec<_>>()
            .join(", ");
        let mut resp = ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            format!(
                "{} is not allowed on {path} (allowed: {allow})",
                parts.method
            ),
        )
        .into_response();
        if let Ok(v) = HeaderValue::from_str(&allow) {
            resp.headers_mut().insert(http::header::ALLOW, v);
        }
        return Ok((resp, None));
    }
    let body = read_body(body).await?;

    if route == Route::Health {
        // Health needs no credentials, so probes and humans can use it.
        return Ok((
            json_response(StatusCode::OK, &json!({"status": "ok"})),
            None,
        ));
    }

    let raw_query = parts.uri.query().unwrap_or("");
    let urls = auth::candidate_urls(
        app.public_base.as_ref(),
        &parts.headers,
        parts.uri.authority().map(|a| a.as_str()),
        &path,
    );
    let now = app.clock_override_ms.unwrap_or_else(clock::now_ms);
    let user = auth::verify(
        &app.users,
        &parts.headers,
        parts.method.as_str(),
        &urls,
        raw_query,
        &body,
        now,
    )
    .map_err(|e| {
        tracing::warn!(
            error = %e,
            method = %parts.method,
            signed_url_candidates = ?urls,
            query = raw_query,
            body_bytes = body.len(),
            "authentication failed"
        );
        ApiError::new(StatusCode::UNAUTHORIZED, e.to_string())
    })?;

    let resp = dispatch(app, user, &parts.method, route, raw_query, &body).await?;
    Ok((resp, Some(user.name.clone())))
}

async fn read_body(body: Incoming) -> Result<Bytes, ApiError> {
    // A declared Content-Length over the limit is refused without reading a byte.
    if body.size_hint().lower() > MAX_BODY_BYTES as u64 {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the request body exceeds {MAX_BODY_BYTES} bytes"),
        ));
    }
    match tokio::time::timeout(
        BODY_READ_TIMEOUT,
        Limited::new(body, MAX_BODY_BYTES).collect(),
    )
    .await
    {
        Err(_) => Err(ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "the request body was not received in time",
        )),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the request body exceeds {MAX_BODY_BYTES} bytes"),
        )),
        Ok(Err(e)) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("cannot read the request body: {e}"),
        )),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
    }
}

fn forbid_unless(user: &User, accounts: &[Account]) -> Result<(), ApiError> {
    match accounts
        .iter()
        .find(|a| !user.shortnames.contains(&a.shortname))
    {
        None => Ok(()),
        Some(a) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!(
                "user {:?} has no access to account {:?}",
                user.name, a.shortname
            ),
        )),
    }
}

fn parse_json(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError::invalid(vec![FieldError {
            field: String::new(),
            message: format!("the request body is not valid JSON: {e}"),
        }])
    })
}

fn ok_instance(i: &Instance) -> Response<RespBody> {
    json_response(
        StatusCode::OK,
        &serde_json::to_value(i).unwrap_or(Value::Null),
    )
}

async fn dispatch(
    app: &App,
    user: &User,
    method: &Method,
    route: Route,
    raw_query: &str,
    body: &[u8],
) -> Result<Response<RespBody>, ApiError> {
    let now = clock::now_ms();
    match route {
        Route::Health => Ok(json_response(StatusCode::OK, &json!({"status": "ok"}))),
        Route::Create => {
            let doc = parse_json(body)?;
            let sub = model::parse_submission(&doc, None).map_err(ApiError::invalid)?;
            forbid_unless(user, &sub.accounts)?;
            let created = app
                .store
                .create(sub, &user.name, now, app.faults.processing_ms())?;
            app.store.persist().await?;
            Ok(ok_instance(&created))
        }
        Route::Validate => {
            let (success, errors) = match serde_json::from_slice::<Value>(body) {
                Err(e) => (
                    false,
                    vec![FieldError {
                        field: String::new(),
                        message: format!("the request body is not valid JSON: {e}"),
                    }],
                ),
                Ok(doc) => match model::parse_submission(&doc, None) {
                    Ok(sub) => {
                        forbid_unless(user, &sub.accounts)?;
                        (true, Vec::new())
                    }
                    Err(errors) => (false, errors),
                },
            };
            Ok(json_response(
                StatusCode::OK,
                &json!({"Success": success, "errors": errors}),
            ))
        }
        Route::Instance(uuid) => {
            let existing = app
                .store
                .get(&uuid, now)
                .ok_or_else(|| StoreError::NotFound(uuid.clone()))?;
            forbid_unless(user, &existing.accounts)?;
            if *method == Method::GET {
                return Ok(ok_instance(&existing));
            }
            if *method == Method::DELETE {
                let deleted = app.store.delete(&uuid, now)?;
                app.store.persist().await?;
                return Ok(ok_instance(&deleted));
            }
            let doc = parse_json(body)?;
            let sub = model::parse_submission(&doc, Some(&existing.accounts))
                .map_err(ApiError::invalid)?;
            if let Some(given) = &sub.uuid
                && *given != uuid
            {
                return Err(ApiError::invalid(vec![FieldError {
                    field: "uuid".into(),
                    message: format!("{given:?} does not match the uuid in the path ({uuid})"),
                }]));
            }
            forbid_unless(user, &sub.accounts)?;
            let replaced =
                app.store
                    .replace(&uuid, sub, &user.name, now, app.faults.processing_ms())?;
            app.store.persist().await?;
            Ok(ok_instance(&replaced))
        }
        Route::List(shortname) | Route::Search(shortname) => {
            forbid_unless(
                user,
                &[Account {
                    shortname: shortname.clone(),
                }],
            )?;
            let query = Query::parse(raw_query)?;
            let matching: Vec<Value> = app
                .store
                .all(now)
                .iter()
                .filter(|i| i.accounts.iter().any(|a| a.shortname == shortname))
                .filter_map(|i| serde_json::to_value(i).ok())
                .filter(|v| {
                    query
                        .filters
                        .iter()
                        .all(|(k, want)| field_matches(v, k, want))
                })
                .collect();
            let total = matching.len();
            let results: Vec<Value> = matching
                .into_iter()
                .skip((query.page - 1).saturating_mul(query.size))
                .take(query.size)
                .collect();
            Ok(json_response(
                StatusCode::OK,
                &json!({"results": results, "total": total, "page": query.page, "size": query.size}),
            ))
        }
    }
}

/// Paging and `searchAuto` filters; every parameter but `size` and `page` is a filter.
#[derive(Debug)]
struct Query {
    size: usize,
    page: usize,
    filters: Vec<(String, String)>,
}

impl Query {
    fn parse(raw: &str) -> Result<Query, ApiError> {
        let mut q = Query {
            size: DEFAULT_PAGE_SIZE,
            page: 1,
            filters: Vec::new(),
        };
        for (k, v) in url::form_urlencoded::parse(raw.as_bytes()) {
            let number = |max: usize| -> Result<usize, ApiError> {
                match v.parse::<usize>() {
                    Ok(n) if (1..=max).contains(&n) => Ok(n),
                    _ => Err(ApiError::invalid(vec![FieldError {
                        field: k.to_string(),
                        message: format!("must be an integer from 1 to {max}, got {v:?}"),
                    }])),
                }
            };
            match k.as_ref() {
                "size" => q.size = number(MAX_PAGE_SIZE)?,
                "page" => q.page = number(usize::MAX)?,
                _ => q.filters.push((k.into_owned(), v.into_owned())),
            }
        }
        Ok(q)
    }
}

/// Does the instance's field at dotted `path` equal `want`? Arrays match when any element
/// does, so `body.protocolSets.sourcePort=80` works.
fn field_matches(v: &Value, path: &str, want: &str) -> bool {
    let segs: Vec<&str> = path.split('.').collect();
    matches_at(v, &segs, want)
}

fn matches_at(v: &Value, segs: &[&str], want: &str) -> bool {
    match v {
        Value::Array(items) => items.iter().any(|i| matches_at(i, segs, want)),
        _ => match segs.split_first() {
            None => match v {
                Value::String(s) => s == want,
                Value::Number(n) => n.to_string() == want,
                Value::Bool(b) => b.to_string() == want,
                Value::Null => want == "null",
                _ => false,
            },
            Some((seg, rest)) => v.get(*seg).is_some_and(|c| matches_at(c, rest, want)),
        },
    }
}

async fn admin(app: &App, req: Request<Incoming>) -> Response<RespBody> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let body = match read_body(req.into_body()).await {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    let ok = |v: Value| json_response(StatusCode::OK, &v);
    match (method.as_str(), path.as_str()) {
        ("GET", "/__admin/health") => ok(json!({"status": "ok"})),
        ("GET", "/__admin/state") => {
            let doc = StateDoc {
                instances: app.store.all(clock::now_ms()),
            };
            ok(serde_json::to_value(doc).unwrap_or(Value::Null))
        }
        ("POST", "/__admin/reset") => {
            app.store.reset();
            app.faults.set(app.initial_faults.clone());
            app.clear_requests();
            match app.store.persist().await {
                Ok(()) => ok(json!({"status": "reset"})),
                Err(e) => ApiError::from(e).into_response(),
            }
        }
        ("GET", "/__admin/requests") => {
            let log = app.requests.lock().unwrap_or_else(|p| p.into_inner());
            ok(serde_json::to_value(&*log).unwrap_or(Value::Null))
        }
        ("DELETE", "/__admin/requests") => ok(json!({"cleared": app.clear_requests()})),
        ("GET", "/__admin/faults") => {
            ok(serde_json::to_value(app.faults.get()).unwrap_or(Value::Null))
        }
        ("PUT", "/__admin/faults") => {
            let config: FaultConfig = match serde_json::from_slice(&body) {
                Ok(c) => c,
                Err(e) => {
                    return ApiError::new(
                        StatusCode::BAD_REQUEST,
                        format!("the fault document is invalid: {e}"),
                    )
                    .into_response();
                }
            };
            if let Err(reason) = config.validate() {
                return ApiError::new(StatusCode::BAD_REQUEST, reason).into_response();
            }
            app.faults.set(config);
            ok(serde_json::to_value(app.faults.get()).unwrap_or(Value::Null))
        }
        (
            _,
            "/__admin/health" | "/__admin/state" | "/__admin/reset" | "/__admin/requests"
            | "/__admin/faults",
        ) => ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("{method} is not allowed on {path}"),
        )
        .into_response(),
        _ => ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no such admin endpoint: {path} (state, reset, requests, faults, health)"),
        )
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_cover_every_endpoint() {
        let p = |s: &str| route(&format!("/config-api/v1/{s}"));
        assert_eq!(p("health/check"), Some(Route::Health));
        assert_eq!(p("svcinst/delivery"), Some(Route::Create));
        assert_eq!(p("svcinst/delivery/"), Some(Route::Create));
        assert_eq!(p("svcinst/delivery/validate"), Some(Route::Validate));
        assert_eq!(
            p("svcinst/delivery/abc"),
            Some(Route::Instance("abc".into()))
        );
        assert_eq!(
            p("svcinst/delivery/shortname/demo"),
            Some(Route::List("demo".into()))
        );
        assert_eq!(
            p("svcinst/delivery/shortname/demo/searchAuto"),
            Some(Route::Search("demo".into()))
        );
        assert_eq!(p("svcinst/delivery/shortname"), None);
        assert_eq!(p("svcinst/other"), None);
        assert_eq!(route("/elsewhere"), None);
    }

    #[test]
    fn nested_search_fields_match_through_arrays() {
        let v = json!({"body": {"publishedUrlPath": "/bob",
            "protocolSets": [{"sourcePort": 80}, {"sourcePort": 443}]}, "isEnabled": true});
        assert!(field_matches(&v, "body.publishedUrlPath", "/bob"));
        assert!(!field_matches(&v, "body.publishedUrlPath", "bob"));
        assert!(field_matches(&v, "body.protocolSets.sourcePort", "443"));
        assert!(!field_matches(&v, "body.protocolSets.sourcePort", "8080"));
        assert!(field_matches(&v, "isEnabled", "true"));
        assert!(!field_matches(&v, "body.missing", "x"));
    }

    #[test]
    fn paging_parameters_are_validated() {
        assert!(Query::parse("size=0").is_err());
        assert!(Query::parse("page=x").is_err());
        let q = Query::parse("size=2&page=3&body.publishedUrlPath=%2Fbob").unwrap();
        assert_eq!((q.size, q.page), (2, 3));
        assert_eq!(
            q.filters,
            vec![("body.publishedUrlPath".into(), "/bob".into())]
        );
    }
}
