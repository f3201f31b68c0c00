//! Providers: thin HTTP clients for the Edgio Delivery Configuration API and the Vultr DNS API.
//! This is the only layer besides `reconcile` that touches the network.

use std::time::Duration;

/// One finished call to a provider (after retries are counted separately: one record per attempt).
#[derive(Debug, Clone)]
pub struct CallRecord {
    /// `"edgio"` or `"vultr"`.
    pub provider: &'static str,
    /// Short operation name, e.g. `"create"`, `"list_records"`.
    pub operation: &'static str,
    /// HTTP status, or `None` when no response arrived (timeout, connection error).
    pub status: Option<u16>,
    pub duration: Duration,
    /// 1 for the first attempt, 2 for the first retry, ...
    pub attempt: u32,
}

/// Receives every provider call, so the controller can count and time them (metrics).
pub trait CallObserver: Send + Sync {
    fn observe(&self, call: &CallRecord);
}

/// An observer that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoopObserver;

impl CallObserver for NoopObserver {
    fn observe(&self, _call: &CallRecord) {}
}

pub mod edgio;
mod transport;
pub mod vultr;
