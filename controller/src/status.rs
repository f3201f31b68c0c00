//! Ingress status: `status.loadBalancer.ingress[].hostname` lists the published hosts. Pure
//! helpers; the reconciler patches only when [`hosts_of`] differs from what it published.

use k8s_openapi::api::networking::v1::Ingress;
use serde_json::{Value, json};

/// The hostnames the status currently lists, sorted.
pub fn hosts_of(ingress: &Ingress) -> Vec<String> {
    let mut hosts: Vec<String> = ingress
        .status
        .as_ref()
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|lb| lb.ingress.as_ref())
        .map(|list| list.iter().filter_map(|i| i.hostname.clone()).collect())
        .unwrap_or_default();
    hosts.sort();
    hosts.dedup();
    hosts
}

/// Merge patch for the status subresource; a merge patch replaces the whole list.
pub fn status_patch(hosts: &[String]) -> Value {
    let entries: Vec<Value> = hosts.iter().map(|h| json!({ "hostname": h })).collect();
    json!({ "status": { "loadBalancer": { "ingress": entries } } })
}
