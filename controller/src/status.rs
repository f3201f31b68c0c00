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

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::networking::v1::{
        IngressLoadBalancerIngress, IngressLoadBalancerStatus, IngressStatus,
    };

    #[test]
    fn hosts_of_reads_sorted_unique_hostnames_and_the_patch_lists_them() {
        let mut ing = crate::testing::ingress("a").build();
        assert!(hosts_of(&ing).is_empty());
        ing.status = Some(IngressStatus {
            load_balancer: Some(IngressLoadBalancerStatus {
                ingress: Some(
                    ["b.example.com", "a.example.com", "b.example.com"]
                        .iter()
                        .map(|h| IngressLoadBalancerIngress {
                            hostname: Some(h.to_string()),
                            ..Default::default()
                        })
                        .collect(),
                ),
            }),
        });
        assert_eq!(hosts_of(&ing), vec!["a.example.com", "b.example.com"]);
        assert_eq!(
            status_patch(&["a.example.com".to_string()]),
            json!({"status": {"loadBalancer": {"ingress": [{"hostname": "a.example.com"}]}}})
        );
    }
}
