//! The operations endpoint on HTTP_ADDR: `/metrics` (Prometheus text), `/healthz` (the process
//! serves), `/readyz` (the caches are warm and the first GC ran, or this replica is on standby).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::metrics::Metrics;

#[derive(Clone)]
pub struct ServerState {
    pub metrics: Arc<Metrics>,
    pub ready: Arc<AtomicBool>,
}

pub fn router(state: ServerState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .with_state(state)
}

async fn metrics(State(state): State<ServerState>) -> impl IntoResponse {
    match state.metrics.encode() {
        Ok(body) => (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            body,
        )
            .into_response(),
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "failed to encode metrics\n",
        )
            .into_response(),
    }
}

async fn readyz(State(state): State<ServerState>) -> impl IntoResponse {
    if state.ready.load(Ordering::Relaxed) {
        (StatusCode::OK, "ready\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "warming up\n")
    }
}

pub async fn serve(
    listener: TcpListener,
    state: ServerState,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    async fn get(state: &ServerState, path: &str) -> (StatusCode, String) {
        let req = Request::builder()
            .uri(path)
            .body(Body::empty())
            .expect("request");
        let resp = router(state.clone()).oneshot(req).await.expect("response");
        let status = resp.status();
        let body = resp.into_body().collect().await.expect("body").to_bytes();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn readyz_turns_ready_when_flagged_and_healthz_always_answers() {
        let state = ServerState {
            metrics: Arc::new(Metrics::new()),
            ready: Arc::new(AtomicBool::new(false)),
        };
        assert_eq!(get(&state, "/healthz").await.0, StatusCode::OK);
        assert_eq!(
            get(&state, "/readyz").await.0,
            StatusCode::SERVICE_UNAVAILABLE
        );
        state.ready.store(true, Ordering::Relaxed);
        assert_eq!(get(&state, "/readyz").await.0, StatusCode::OK);
    }

    #[tokio::test]
    async fn metrics_lists_reconciles_errors_provider_calls_stages_and_gauges() {
        let metrics = Arc::new(Metrics::new());
        metrics.reconciled(true);
        metrics.error("RuleConflict");
        drop(metrics.stage("plan"));
        crate::providers::CallObserver::observe(
            metrics.as_ref(),
            &crate::providers::CallRecord {
                provider: "edgio",
                operation: "create",
                status: Some(409),
                duration: std::time::Duration::from_millis(3),
                attempt: 1,
            },
        );
        metrics.managed_rules.set(2);
        let state = ServerState {
            metrics,
            ready: Arc::new(AtomicBool::new(true)),
        };
        let (status, body) = get(&state, "/metrics").await;
        assert_eq!(status, StatusCode::OK);
        for needle in [
            "edgio_ingress_reconciles_total{result=\"ok\"} 1",
            "edgio_ingress_errors_total{reason=\"RuleConflict\"} 1",
            "edgio_ingress_provider_calls_total{provider=\"edgio\",operation=\"create\",status=\"409\"} 1",
            "edgio_ingress_stage_duration_seconds_count{stage=\"plan\"} 1",
            "edgio_ingress_managed_rules 2",
        ] {
            assert!(body.contains(needle), "missing {needle} in:\n{body}");
        }
    }
}
