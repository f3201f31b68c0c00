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
    let unschedulable = node
        .spec
        .as_ref()
        .and_then(|s| s.unschedulable)
        .unwrap_or(false);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;

    fn addrs(nodes: &[Node], types: &[&str]) -> Vec<String> {
        let nodes: Vec<Arc<Node>> = nodes.iter().cloned().map(Arc::new).collect();
        let types: Vec<String> = types.iter().map(|s| s.to_string()).collect();
        origin_addresses(&nodes, &types)
            .iter()
            .map(|a| a.to_string())
            .collect()
    }

    #[test]
    fn first_configured_address_type_a_node_has_wins_per_node() {
        let nodes = [
            node(
                "n1",
                &[("InternalIP", "10.0.0.1"), ("ExternalIP", "192.0.2.1")],
            ),
            node("n2", &[("InternalIP", "10.0.0.2")]),
        ];
        assert_eq!(
            addrs(&nodes, &["ExternalIP", "InternalIP"]),
            vec!["10.0.0.2", "192.0.2.1"]
        );
        assert_eq!(
            addrs(&nodes, &["InternalIP", "ExternalIP"]),
            vec!["10.0.0.1", "10.0.0.2"]
        );
        assert_eq!(addrs(&nodes, &["ExternalIP"]), vec!["192.0.2.1"]);
    }

    #[test]
    fn unready_cordoned_and_ipv6_only_nodes_are_left_out() {
        let nodes = [
            node("ok", &[("InternalIP", "10.0.0.1")]),
            not_ready(node("down", &[("InternalIP", "10.0.0.2")])),
            cordoned(node("cordoned", &[("InternalIP", "10.0.0.3")])),
            node("v6", &[("InternalIP", "fd00::1")]),
            node("dup", &[("InternalIP", "10.0.0.1")]),
        ];
        assert_eq!(addrs(&nodes, &["InternalIP"]), vec!["10.0.0.1"]);
    }
}
