//! The admin API (no auth, same shapes as the Edgio mock's): state dump, reset, request log and
//! fault settings. Admin calls are not rate limited, faulted or logged.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use http::StatusCode;
use serde_json::json;

use crate::api::{error_response, json_response};
use crate::app::App;
use crate::faults::Faults;

pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/__admin/health", get(health))
        .route("/__admin/state", get(state))
        .route("/__admin/reset", post(reset))
        .route("/__admin/requests", get(requests).delete(clear_requests))
        .route("/__admin/faults", get(faults).put(put_faults))
}

/// `{"domains":[{"domain":..,"date_created":..,"dns_sec":..,"soa":..,"records":[Record..]}]}`,
/// records as the API shows them (TXT quoted).
async fn state(State(app): State<Arc<App>>) -> Response {
    let domains: Vec<_> = app.read(|store| {
        store
            .domains
            .iter()
            .map(|d| {
                let records: Vec<_> = d.records.iter().map(|r| r.to_api()).collect();
                json!({
                    "domain": d.domain,
                    "date_created": d.date_created,
                    "dns_sec": d.dns_sec,
                    "soa": d.soa,
                    "records": records,
                })
            })
            .collect()
    });
    json_response(StatusCode::OK, &json!({ "domains": domains }))
}

async fn health() -> Response {
    json_response(StatusCode::OK, &json!({"status": "ok"}))
}

async fn reset(State(app): State<Arc<App>>) -> Response {
    app.reset();
    json_response(StatusCode::OK, &json!({"status": "reset"}))
}

async fn requests(State(app): State<Arc<App>>) -> Response {
    let entries: Vec<_> = app.runtime().requests.iter().cloned().collect();
    json_response(StatusCode::OK, &entries)
}

async fn clear_requests(State(app): State<Arc<App>>) -> Response {
    let cleared = {
        let mut runtime = app.runtime();
        let count = runtime.requests.len();
        runtime.requests.clear();
        count
    };
    json_response(StatusCode::OK, &json!({ "cleared": cleared }))
}

/// The current settings; `burst_429` shows how many injected 429s are still to come.
async fn faults(State(app): State<Arc<App>>) -> Response {
    let current = {
        let runtime = app.runtime();
        let mut faults = runtime.faults.clone();
        faults.burst_429 = runtime.burst_remaining;
        faults
    };
    json_response(StatusCode::OK, &current)
}

async fn put_faults(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let parsed = serde_json::from_slice::<Faults>(&body)
        .map_err(|e| format!("Invalid faults: {e}"))
        .and_then(|f| f.validated().map_err(|e| format!("Invalid faults: {e}")));
    match parsed {
        Ok(faults) => {
            let mut runtime = app.runtime();
            runtime.burst_remaining = faults.burst_429;
            runtime.faults = faults.clone();
            // A new limit starts from full buckets rather than debts run up under the old one.
            runtime.limiter.clear();
            json_response(StatusCode::OK, &faults)
        }
        Err(message) => error_response(StatusCode::BAD_REQUEST, &message),
    }
}
