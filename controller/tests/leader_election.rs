//! Leader election against a small in-process stand-in for the Lease API (GET, POST, PUT with
//! resourceVersion checks, 409 on a stale write), the way kube-apiserver answers.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use edgio_ingress::leader::{Elector, LeaderError, LeaseConfig};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;
use kube::Api;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

#[derive(Default)]
struct LeaseStore {
    lease: Option<Value>,
    rv: u64,
    /// Bump the resourceVersion before the next PUT, as if another replica wrote first.
    race_next_put: bool,
}

type Shared = Arc<Mutex<LeaseStore>>;

fn status(code: StatusCode, reason: &str) -> Response {
    let body = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": reason, "reason": reason, "code": code.as_u16()});
    (code, axum::Json(body)).into_response()
}

async fn get_lease(
    State(s): State<Shared>,
    Path((_ns, _name)): Path<(String, String)>,
) -> Response {
    let s = s.lock().unwrap_or_else(|p| p.into_inner());
    match &s.lease {
        Some(l) => axum::Json(l.clone()).into_response(),
        None => status(StatusCode::NOT_FOUND, "NotFound"),
    }
}

async fn create_lease(
    State(s): State<Shared>,
    Path(ns): Path<String>,
    axum::Json(mut body): axum::Json<Value>,
) -> Response {
    let mut s = s.lock().unwrap_or_else(|p| p.into_inner());
    if s.lease.is_some() {
        return status(StatusCode::CONFLICT, "AlreadyExists");
    }
    s.rv += 1;
    body["metadata"]["resourceVersion"] = json!(s.rv.to_string());
    body["metadata"]["namespace"] = json!(ns);
    s.lease = Some(body.clone());
    (StatusCode::CREATED, axum::Json(body)).into_response()
}

async fn replace_lease(
    State(s): State<Shared>,
    Path((_ns, _name)): Path<(String, String)>,
    axum::Json(mut body): axum::Json<Value>,
) -> Response {
    let mut s = s.lock().unwrap_or_else(|p| p.into_inner());
    if s.race_next_put {
        s.race_next_put = false;
        s.rv += 1;
    }
    let sent = body["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if s.lease.is_none() {
        return status(StatusCode::NOT_FOUND, "NotFound");
    }
    if sent != s.rv.to_string() {
        return status(StatusCode::CONFLICT, "Conflict");
    }
    s.rv += 1;
    body["metadata"]["resourceVersion"] = json!(s.rv.to_string());
    s.lease = Some(body.clone());
    axum::Json(body).into_response()
}

async fn start() -> (Api<Lease>, Shared) {
    let shared: Shared = Arc::default();
    let app = Router::new()
        .route(
            "/apis/coordination.k8s.io/v1/namespaces/{ns}/leases",
            post(create_lease),
        )
        .route(
            "/apis/coordination.k8s.io/v1/namespaces/{ns}/leases/{name}",
            get(get_lease).put(replace_lease),
        )
        .with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let url: http::Uri = format!("http://{addr}").parse().expect("uri");
    let client = kube::Client::try_from(kube::Config::new(url)).expect("client");
    (Api::namespaced(client, "edgio-ingress-system"), shared)
}

fn cfg(identity: &str) -> LeaseConfig {
    LeaseConfig {
        retry: Duration::from_millis(20),
        ..LeaseConfig::new("edgio-ingress-leader", identity)
    }
}

fn holder(shared: &Shared) -> Option<String> {
    let s = shared.lock().unwrap_or_else(|p| p.into_inner());
    s.lease
        .as_ref()
        .and_then(|l| l["spec"]["holderIdentity"].as_str().map(str::to_string))
}

#[tokio::test]
async fn only_one_of_two_replicas_leads_and_the_standby_takes_over_after_release() {
    let (api, shared) = start().await;
    let a = Elector::new(api.clone(), cfg("replica-a"));
    let b = Elector::new(api, cfg("replica-b"));
    assert!(a.try_acquire_or_renew().await.expect("a acquires"));
    assert!(!b.try_acquire_or_renew().await.expect("b asks"));
    assert!(a.try_acquire_or_renew().await.expect("a renews"));
    assert_eq!(holder(&shared).as_deref(), Some("replica-a"));

    a.release().await;
    assert_eq!(holder(&shared), None);
    let cancel = CancellationToken::new();
    tokio::time::timeout(Duration::from_secs(5), b.acquire(&cancel))
        .await
        .expect("b acquires within 5s")
        .expect("not cancelled");
    assert_eq!(holder(&shared).as_deref(), Some("replica-b"));
    let transitions = shared
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .lease
        .as_ref()
        .map(|l| l["spec"]["leaseTransitions"].clone());
    assert_eq!(transitions, Some(json!(1)));
}

#[tokio::test]
async fn a_write_that_loses_the_resource_version_race_does_not_lead() {
    let (api, shared) = start().await;
    let a = Elector::new(api, cfg("replica-a"));
    assert!(a.try_acquire_or_renew().await.expect("create"));
    shared
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .race_next_put = true;
    assert!(
        !a.try_acquire_or_renew()
            .await
            .expect("409 is an answer, not an error")
    );
}

#[tokio::test]
async fn a_leader_whose_lease_was_taken_reports_it_lost() {
    let (api, shared) = start().await;
    let a = Elector::new(api, cfg("replica-a"));
    assert!(a.try_acquire_or_renew().await.expect("acquire"));
    {
        let mut s = shared.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(l) = s.lease.as_mut() {
            l["spec"]["holderIdentity"] = json!("replica-b");
            l["spec"]["renewTime"] =
                serde_json::to_value(MicroTime(Timestamp::now())).expect("time");
        }
    }
    let cancel = CancellationToken::new();
    let held = tokio::time::timeout(Duration::from_secs(5), a.hold(&cancel))
        .await
        .expect("hold returns");
    assert!(matches!(held, Err(LeaderError::Lost { .. })), "{held:?}");
}

#[tokio::test]
async fn a_cancelled_standby_stops_waiting() {
    let (api, _shared) = start().await;
    let a = Elector::new(api.clone(), cfg("replica-a"));
    assert!(a.try_acquire_or_renew().await.expect("acquire"));
    let b = Elector::new(api, cfg("replica-b"));
    let cancel = CancellationToken::new();
    cancel.cancel();
    let got = tokio::time::timeout(Duration::from_secs(5), b.acquire(&cancel))
        .await
        .expect("returns");
    assert!(got.is_none());
}
