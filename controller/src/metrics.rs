//! Prometheus metrics (prometheus-client), served on `/metrics`. Also the providers' call
//! observer, so every Edgio and Vultr call is counted and timed.

use std::time::Instant;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::providers::{CallObserver, CallRecord};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    pub result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    pub reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CallLabels {
    pub provider: &'static str,
    pub operation: &'static str,
    /// HTTP status, or `none` when no response arrived.
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OperationLabels {
    pub provider: &'static str,
    pub operation: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StageLabels {
    pub stage: &'static str,
}

fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.5, 12))
}

/// All metrics of the controller.
#[derive(Debug)]
pub struct Metrics {
    pub registry: Registry,
    pub reconciles: Family<ResultLabels, Counter>,
    pub errors: Family<ReasonLabels, Counter>,
    pub provider_calls: Family<CallLabels, Counter>,
    pub provider_call_seconds: Family<OperationLabels, Histogram, fn() -> Histogram>,
    pub stage_seconds: Family<StageLabels, Histogram, fn() -> Histogram>,
    pub managed_rules: Gauge,
    pub managed_records: Gauge,
    pub leader: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("edgio_ingress");
        let reconciles = Family::<ResultLabels, Counter>::default();
        let errors = Family::<ReasonLabels, Counter>::default();
        let provider_calls = Family::<CallLabels, Counter>::default();
        let provider_call_seconds: Family<OperationLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(latency_histogram);
        let stage_seconds: Family<StageLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(latency_histogram);
        let managed_rules = Gauge::default();
        let managed_records = Gauge::default();
        let leader = Gauge::default();
        registry.register(
            "reconciles",
            "Ingress reconciles by result (ok, error)",
            reconciles.clone(),
        );
        registry.register(
            "errors",
            "Errors and route-skipping findings by reason",
            errors.clone(),
        );
        registry.register(
            "provider_calls",
            "Provider HTTP calls (each attempt) by provider, operation and status",
            provider_calls.clone(),
        );
        registry.register(
            "provider_call_duration_seconds",
            "Provider HTTP call latency",
            provider_call_seconds.clone(),
        );
        registry.register(
            "stage_duration_seconds",
            "Latency of each pipeline stage (translate, plan, apply_cdn, apply_dns, update_status, gc)",
            stage_seconds.clone(),
        );
        registry.register(
            "managed_rules",
            "CDN rules carrying our owner marker",
            managed_rules.clone(),
        );
        registry.register(
            "managed_records",
            "DNS records we own (origin A records and the ownership TXT)",
            managed_records.clone(),
        );
        registry.register(
            "leader",
            "1 while this replica holds the leader Lease",
            leader.clone(),
        );
        Self {
            registry,
            reconciles,
            errors,
            provider_calls,
            provider_call_seconds,
            stage_seconds,
            managed_rules,
            managed_records,
            leader,
        }
    }

    pub fn error(&self, reason: &'static str) {
        self.errors.get_or_create(&ReasonLabels { reason }).inc();
    }

    pub fn reconciled(&self, ok: bool) {
        let result = if ok { "ok" } else { "error" };
        self.reconciles
            .get_or_create(&ResultLabels { result })
            .inc();
    }

    /// Starts timing a stage; the time is recorded when the guard drops.
    pub fn stage(&self, stage: &'static str) -> StageTimer<'_> {
        StageTimer {
            metrics: self,
            stage,
            start: Instant::now(),
        }
    }

    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

pub struct StageTimer<'a> {
    metrics: &'a Metrics,
    stage: &'static str,
    start: Instant,
}

impl Drop for StageTimer<'_> {
    fn drop(&mut self) {
        self.metrics
            .stage_seconds
            .get_or_create(&StageLabels { stage: self.stage })
            .observe(self.start.elapsed().as_secs_f64());
    }
}

impl CallObserver for Metrics {
    fn observe(&self, call: &CallRecord) {
        let status = call
            .status
            .map(|s| s.to_string())
            .unwrap_or_else(|| "none".to_string());
        self.provider_calls
            .get_or_create(&CallLabels {
                provider: call.provider,
                operation: call.operation,
                status,
            })
            .inc();
        self.provider_call_seconds
            .get_or_create(&OperationLabels {
                provider: call.provider,
                operation: call.operation,
            })
            .observe(call.duration.as_secs_f64());
    }
}
