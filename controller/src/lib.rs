//! Kubernetes Ingress controller for Edgio Delivery CDN rules and Vultr DNS origin records.
//!
//! The pipeline, in order: [`ingress`] (read an Ingress into routes; pure) → [`plan`] (desired
//! rules and records, diffed against the providers; pure) → [`providers`] (HTTP clients) →
//! [`reconcile`] (orchestration) → [`status`] and Events. "Where is an Ingress turned into a CDN
//! rule?": `ingress::translate` then `plan::rules::desired_rules`.

pub mod app;
pub mod cli;
pub mod ingress;
pub mod leader;
pub mod metrics;
pub mod names;
pub mod plan;
pub mod providers;
pub mod reconcile;
pub mod server;
pub mod status;

#[cfg(test)]
mod testing;
