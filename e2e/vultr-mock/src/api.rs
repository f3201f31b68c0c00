//! The HTTP side: the Vultr API v2 under `/v2` behind the guard (rate limiter, injected faults,
//! Bearer auth, request log, access log), and the router that also mounts the admin API.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, RawQuery, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::app::{App, RequestEntry};
use crate::clock;
use crate::pagination::{PageError, PageRequest};
use crate::store::{NewDomain, NewRecord, RecordPatch, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Page(#[from] PageError),
    #[error("Invalid JSON body: {0}")]
    Json(String),
    #[error("The request body must be a JSON object")]
    NotAnObject,
    #[error("{0} is required")]
    MissingField(&'static str),
    #[error("{field} must be {expected}")]
    FieldType {
        field: &'static str,
        expected: &'static str,
    },
    #[error("Invalid or missing API key: send Authorization: Bearer <API key>")]
    Unauthorized,
    #[error("Not found")]
    NoRoute,
    #[error("Method not allowed")]
    MethodNotAllowed,
}

impl ApiError {
    fn status(&self) -> StatusCode {
        let code = match self {
            Self::Store(e) => e.status(),
            Self::Unauthorized => 401,
            Self::NoRoute => 404,
            Self::MethodNotAllowed => 405,
            _ => 400,
        };
        StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        error_response(self.status(), &self.to_string())
    }
}

/// A JSON answer with exactly `Content-Type: application/json` (Vultr's generated clients reject
/// a charset parameter).
pub fn json_response<T: Serialize>(status: StatusCode, value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            body,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "response not serialisable");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// Vultr's 4xx body: `{"error":"<message>","status":<code>}`.
pub fn error_response(status: StatusCode, message: &str) -> Response {
    json_response(
        status,
        &json!({"error": message, "status": status.as_u16()}),
    )
}

fn too_many_requests(retry_after: u64, message: &str) -> Response {
    let mut response = error_response(StatusCode::TOO_MANY_REQUESTS, message);
    if let Ok(value) = HeaderValue::from_str(&retry_after.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// An injected server error; the spec allows 5xx bodies that are not JSON, so some are not.
fn injected_server_error() -> Response {
    match rand::random_range(0..3u8) {
        0 => error_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal server error (injected fault)",
        ),
        1 => (
            StatusCode::BAD_GATEWAY,
            [(header::CONTENT_TYPE, "text/html")],
            "<html><body><h1>502 Bad Gateway</h1></body></html>\n",
        )
            .into_response(),
        _ => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "text/plain")],
            "Service Unavailable (injected fault)\n",
        )
            .into_response(),
    }
}

fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

pub fn router(app: Arc<App>) -> Router {
    let api = Router::new()
        .route("/v2/domains", get(list_domains).post(create_domain))
        .route(
            "/v2/domains/{domain}",
            get(get_domain).put(update_domain).delete(delete_domain),
        )
        .route("/v2/domains/{domain}/soa", get(get_soa).patch(update_soa))
        .route(
            "/v2/domains/{domain}/records",
            get(list_records).post(create_record),
        )
        .route(
            "/v2/domains/{domain}/records/{id}",
            get(get_record).patch(update_record).delete(delete_record),
        )
        .fallback(|| async { ApiError::NoRoute })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(middleware::from_fn_with_state(Arc::clone(&app), guard));
    crate::admin::router().merge(api).with_state(app)
}

/// Everything in front of the handlers, in the order a real edge applies it: per-IP rate limit,
/// injected latency / 429 burst / 5xx, then authentication. Every API call is logged.
async fn guard(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let path = request.uri().path().to_string();
    let query = request.uri().query().unwrap_or("").to_string();
    let response = match gate(&app, &method, peer, request.headers()).await {
        Some(refusal) => refusal,
        None => json_client_error(next.run(request).await).await,
    };
    let status = response.status().as_u16();
    tracing::info!(
        target: "vultr_mock::access",
        client = %peer.ip(),
        method = %method,
        path = %path,
        query = %query,
        status,
        duration_ms = started.elapsed().as_millis() as u64,
        "api request"
    );
    app.log_request(RequestEntry {
        method,
        path,
        query,
        status,
        time: clock::now_rfc3339(),
    });
    response
}

/// Rejections produced by axum itself (body too large, undecodable path) are plain text; Vultr's
/// clients expect every 4xx as `{"error":..,"status":..}`, so they are rewritten.
async fn json_client_error(response: Response) -> Response {
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v == "application/json");
    if !response.status().is_client_error() || is_json {
        return response;
    }
    let status = response.status();
    let text = axum::body::to_bytes(response.into_body(), 64 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let message = if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("Bad request")
            .to_string()
    } else {
        text
    };
    error_response(status, &message)
}

async fn gate(app: &App, method: &str, peer: SocketAddr, headers: &HeaderMap) -> Option<Response> {
    let latency = {
        let mut runtime = app.runtime();
        let rate = runtime
            .faults
            .rate_limit_per_sec
            .unwrap_or(app.settings.rate_limit);
        if let Err(wait) = runtime.limiter.check(peer.ip(), rate, Instant::now()) {
            return Some(too_many_requests(
                wait,
                &format!("Rate limit exceeded: at most {rate} requests per second per IP"),
            ));
        }
        runtime.faults.latency_ms
    };
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    {
        let mut runtime = app.runtime();
        if runtime.burst_remaining > 0 {
            runtime.burst_remaining -= 1;
            return Some(too_many_requests(
                runtime.faults.retry_after_secs,
                "Rate limit exceeded (injected fault)",
            ));
        }
        let rate = runtime.faults.error_rate_for(method);
        if rate > 0.0 && rand::random::<f64>() < rate {
            return Some(injected_server_error());
        }
    }
    let authorised = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token)
        .is_some_and(|key| app.settings.api_keys.iter().any(|k| k == key));
    if !authorised {
        return Some(ApiError::Unauthorized.into_response());
    }
    None
}

/// The token of an `Authorization: Bearer <token>` header (the scheme is case-insensitive).
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// Parses a request body into a JSON object. The Go client ends bodies with a newline and sends
/// `Content-Type` on every method, so neither is checked.
fn object(body: &Bytes) -> Result<Map<String, Value>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::Json("the body is empty".to_string()));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::NotAnObject),
        Err(e) => Err(ApiError::Json(e.to_string())),
    }
}

/// A string field; `null` counts as absent.
fn string_field(map: &Map<String, Value>, field: &'static str) -> Result<Option<String>, ApiError> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ApiError::FieldType {
            field,
            expected: "a string",
        }),
    }
}

/// An integer field; `null` counts as absent.
fn int_field(map: &Map<String, Value>, field: &'static str) -> Result<Option<i64>, ApiError> {
    match map.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_i64().map(Some).ok_or(ApiError::FieldType {
            field,
            expected: "an integer",
        }),
        Some(_) => Err(ApiError::FieldType {
            field,
            expected: "an integer",
        }),
    }
}

fn required(value: Option<String>, field: &'static str) -> Result<String, ApiError> {
    value.ok_or(ApiError::MissingField(field))
}

type ApiResult = Result<Response, ApiError>;

async fn list_domains(State(app): State<Arc<App>>, RawQuery(query): RawQuery) -> ApiResult {
    app.read(|store| {
        let page = PageRequest::from_query(query.as_deref(), store.next_seq)?;
        let (domains, meta) = page.page(&store.domains, |d| d.seq);
        let domains: Vec<_> = domains.iter().map(|d| d.to_api()).collect();
        Ok(json_response(
            StatusCode::OK,
            &json!({"domains": domains, "meta": meta}),
        ))
    })
}

async fn create_domain(State(app): State<Arc<App>>, body: Bytes) -> ApiResult {
    let map = object(&body)?;
    let new = NewDomain {
        domain: required(string_field(&map, "domain")?, "domain")?,
        ip: string_field(&map, "ip")?,
        dns_sec: string_field(&map, "dns_sec")?,
    };
    let now = clock::now_rfc3339();
    let serial = u32::try_from(clock::unix_now()).unwrap_or(1);
    let domain = app.mutate(|store| store.create_domain(new, &now, serial))?;
    Ok(json_response(StatusCode::OK, &json!({"domain": domain})))
}

async fn get_domain(State(app): State<Arc<App>>, Path(domain): Path<String>) -> ApiResult {
    let domain = app.read(|store| store.domain(&domain).map(|d| d.to_api()))?;
    Ok(json_response(StatusCode::OK, &json!({"domain": domain})))
}

async fn update_domain(
    State(app): State<Arc<App>>,
    Path(domain): Path<String>,
    body: Bytes,
) -> ApiResult {
    let map = object(&body)?;
    let dns_sec = required(string_field(&map, "dns_sec")?, "dns_sec")?;
    app.mutate(|store| store.update_domain(&domain, &dns_sec))?;
    Ok(no_content())
}

async fn delete_domain(State(app): State<Arc<App>>, Path(domain): Path<String>) -> ApiResult {
    app.mutate(|store| store.delete_domain(&domain))?;
    Ok(no_content())
}

async fn get_soa(State(app): State<Arc<App>>, Path(domain): Path<String>) -> ApiResult {
    let soa = app.read(|store| store.domain(&domain).map(|d| d.soa.clone()))?;
    Ok(json_response(StatusCode::OK, &json!({"dns_soa": soa})))
}

async fn update_soa(
    State(app): State<Arc<App>>,
    Path(domain): Path<String>,
    body: Bytes,
) -> ApiResult {
    let map = object(&body)?;
    let nsprimary = string_field(&map, "nsprimary")?;
    let email = string_field(&map, "email")?;
    app.mutate(|store| store.update_soa(&domain, nsprimary, email))?;
    Ok(no_content())
}

async fn list_records(
    State(app): State<Arc<App>>,
    Path(domain): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult {
    app.read(|store| {
        let zone = store.domain(&domain)?;
        let page = PageRequest::from_query(query.as_deref(), store.next_seq)?;
        let (records, meta) = page.page(&zone.records, |r| r.seq);
        let records: Vec<_> = records.iter().map(|r| r.to_api()).collect();
        Ok(json_response(
            StatusCode::OK,
            &json!({"records": records, "meta": meta}),
        ))
    })
}

async fn create_record(
    State(app): State<Arc<App>>,
    Path(domain): Path<String>,
    body: Bytes,
) -> ApiResult {
    // An unknown zone is a 404 whatever the body says.
    app.read(|store| store.domain(&domain).map(|_| ()))?;
    let map = object(&body)?;
    let new = NewRecord {
        name: required(string_field(&map, "name")?, "name")?,
        rtype: required(string_field(&map, "type")?, "type")?,
        data: required(string_field(&map, "data")?, "data")?,
        ttl: int_field(&map, "ttl")?,
        priority: int_field(&map, "priority")?,
    };
    let default_ttl = app.settings.default_ttl;
    let record = app.mutate(|store| store.create_record(&domain, new, default_ttl))?;
    Ok(json_response(
        StatusCode::CREATED,
        &json!({"record": record}),
    ))
}

async fn get_record(
    State(app): State<Arc<App>>,
    Path((domain, id)): Path<(String, String)>,
) -> ApiResult {
    let record = app.read(|store| {
        store
            .domain(&domain)
            .and_then(|d| d.record(&id))
            .map(|r| r.to_api())
    })?;
    Ok(json_response(StatusCode::OK, &json!({"record": record})))
}

async fn update_record(
    State(app): State<Arc<App>>,
    Path((domain, id)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult {
    app.read(|store| {
        store
            .domain(&domain)
            .and_then(|d| d.record(&id))
            .map(|_| ())
    })?;
    let map = object(&body)?;
    // `type` is not part of the PATCH schema: like any unknown field it is ignored, so the type
    // never changes.
    let patch = RecordPatch {
        name: string_field(&map, "name")?,
        data: string_field(&map, "data")?,
        ttl: int_field(&map, "ttl")?,
        priority: int_field(&map, "priority")?,
    };
    app.mutate(|store| store.update_record(&domain, &id, patch))?;
    Ok(no_content())
}

async fn delete_record(
    State(app): State<Arc<App>>,
    Path((domain, id)): Path<(String, String)>,
) -> ApiResult {
    app.mutate(|store| store.delete_record(&domain, &id))?;
    Ok(no_content())
}
