//! Stage 3 of the pipeline (orchestration only): run the controller, decide per Ingress whether
//! to publish or clean up, apply the plan through small provider traits, then report through
//! status and Events.
//!
//! - [`backend`]: the `CdnApi` / `DnsApi` traits and their Edgio / Vultr implementations.
//! - [`engine`]: plan + apply for one Ingress or the GC against a shared provider snapshot
//!   (no Kubernetes IO, so it is tested with in-memory fakes).
//! - [`controller`]: kube-runtime Controller, watches, finalizer, status, Events, backoff.

pub mod backend;
pub mod controller;
pub mod engine;
pub mod error;

#[cfg(test)]
mod tests;

pub use backend::{CdnApi, DnsApi, EdgioCdn, ProviderError, VultrDns};
pub use engine::{Engine, Note, Outcome};
pub use error::ReconcileError;
