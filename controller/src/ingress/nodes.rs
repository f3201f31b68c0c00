//! Nodes → the addresses the origin name lists. Pure.

use std::net::Ipv4Addr;
use std::sync::Arc;

use k8s_openapi::api::core::v1::Node;

/// A node takes traffic when its Ready condition is True and it is not cordoned.
pub fn node_is_usable(node: &Node) -> bool {
    let ready = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
    let unschedulable = node.spec.as_ref().and_then(|s| s.unschedulable).unwrap_or(false);
    ready && !unschedulable
}

/// One IPv4 address list per usable node: the addresses of the first type in `types` that the node
/// has (so `ExternalIP,InternalIP` prefers public addresses and falls back to private ones).
/// Sorted and without duplicates, so the result is stable whatever order the nodes come in.
pub fn origin_addresses(nodes: &[Arc<Node>], types: &[String]) -> Vec<Ipv4Addr> {
    let mut out: Vec<Ipv4Addr> = Vec::new();
    for node in nodes.iter().filter(|n| node_is_usable(n)) {
        let addresses = node.status.as_ref().and_then(|s| s.addresses.as_ref());
        let Some(addresses) = addresses else { continue };
        for t in types {
            let found: Vec<Ipv4Addr> = addresses
                .iter()
                .filter(|a| &a.type_ == t)
                .filter_map(|a| a.address.parse::<Ipv4Addr>().ok())
                .collect();
            if !found.is_empty() {
                out.extend(found);
                break;
            }
        }
    }
    out.sort();
    out.dedup();
    out
}
