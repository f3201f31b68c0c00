//! Desired CDN rules of one Ingress and the diff against the rules the CDN reports.

use std::collections::BTreeSet;

use serde_json::Value;

use super::model::{Marker, ProtocolSpec, RemoteRule, RuleOption, RuleSpec};
use super::{OwnerId, PlanError};
use crate::ingress::IngressRoutes;
use crate::names::{OWNER_HEADER, REQ_SEND_HEADER};

/// What every rule we build shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSettings {
    pub owner_id: OwnerId,
    /// The round-robin origin name (`origin.example.com`).
    pub origin_hostname: String,
}

impl RuleSettings {
    pub fn marker(&self, namespace: &str, name: &str) -> Marker {
        Marker {
            owner: self.owner_id.as_str().to_string(),
            namespace: namespace.to_string(),
            name: name.to_string(),
        }
    }
}

/// One rule per route: the CDN publishes the host + path on the chosen protocols and fetches from
/// `http://<origin>:<nodePort>`, adding our ownership header.
pub fn desired_rules(routes: &IngressRoutes, settings: &RuleSettings) -> Vec<RuleSpec> {
    let marker = settings.marker(&routes.namespace, &routes.name).to_string();
    let mut protocols = Vec::new();
    if routes.protocols.http {
        protocols.push("http");
    }
    if routes.protocols.https {
        protocols.push("https");
    }
    routes
        .routes
        .iter()
        .map(|r| RuleSpec {
            published_host: r.host.clone(),
            published_path: r.cdn_path.clone(),
            source_host: settings.origin_hostname.clone(),
            source_path: String::new(),
            service_profile: routes.service_profile.clone(),
            protocol_sets: protocols
                .iter()
                .map(|p| ProtocolSpec {
                    published_protocol: (*p).to_string(),
                    published_port: None,
                    source_protocol: "http".to_string(),
                    source_port: Some(r.node_port),
                    options: vec![RuleOption {
                        name: REQ_SEND_HEADER.to_string(),
                        parameters: vec![Value::from(OWNER_HEADER), Value::from(marker.clone())],
                    }],
                })
                .collect(),
        })
        .collect()
}

/// The changes that bring one Ingress's rules to the desired state. Apply creates first, then
/// updates, then deletes, so an edited path is served by the new rule before the old one goes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RulePlan {
    pub creates: Vec<RuleSpec>,
    /// (current rule, desired spec).
    pub updates: Vec<(RemoteRule, RuleSpec)>,
    pub deletes: Vec<RemoteRule>,
    /// Desired rules we will not create because someone else's rule has the same host + path.
    pub conflicts: Vec<PlanError>,
}

impl RulePlan {
    pub fn is_empty(&self) -> bool {
        self.creates.is_empty() && self.updates.is_empty() && self.deletes.is_empty()
    }

    pub fn writes(&self) -> usize {
        self.creates.len() + self.updates.len() + self.deletes.len()
    }
}

/// Diffs one Ingress's desired rules against the CDN.
///
/// `all_rules` is everything the account holds; only rules with `marker` are ever updated or
/// deleted. A desired rule whose host + path is taken by a rule without our marker becomes a
/// conflict instead of a create (the CDN would answer 409). Rules at a `held` key are kept.
pub fn diff_rules(
    desired: &[RuleSpec],
    all_rules: &[RemoteRule],
    marker: &Marker,
    held: &BTreeSet<(String, String)>,
) -> RulePlan {
    let mut plan = RulePlan::default();
    let mine: Vec<&RemoteRule> = all_rules.iter().filter(|r| r.spec.marker().as_ref() == Some(marker)).collect();
    let mut kept: BTreeSet<&str> = BTreeSet::new();

    for want in desired {
        let key = want.key();
        let mut matching = mine.iter().filter(|r| r.spec.key() == key);
        match matching.next() {
            Some(have) => {
                kept.insert(have.uuid.as_str());
                if !have.spec.same_as(want) {
                    plan.updates.push(((*have).clone(), want.clone()));
                }
            }
            None => {
                let protocols = want.published_protocols();
                let taken = all_rules.iter().find(|r| {
                    r.spec.key() == key
                        && r.spec.marker().as_ref() != Some(marker)
                        && r.spec.published_protocols().iter().any(|p| protocols.contains(p))
                });
                match taken {
                    Some(other) => plan.conflicts.push(PlanError::RuleConflict {
                        host: key.0,
                        path: key.1,
                        holder: other
                            .spec
                            .marker()
                            .map(|m| format!("marked {m}"))
                            .unwrap_or_else(|| format!("unmarked rule {}", other.uuid)),
                    }),
                    None => plan.creates.push(want.clone()),
                }
            }
        }
    }
    for have in mine {
        if kept.contains(have.uuid.as_str()) {
            continue;
        }
        let is_duplicate = desired.iter().any(|d| d.key() == have.spec.key());
        if !is_duplicate && held.contains(&have.spec.key()) {
            continue;
        }
        plan.deletes.push(have.clone());
    }
    plan
}

/// Rules marked with our owner id whose Ingress is not among `live` (namespace, name) pairs.
pub fn orphans(all_rules: &[RemoteRule], owner: &OwnerId, live: &BTreeSet<(String, String)>) -> Vec<RemoteRule> {
    all_rules
        .iter()
        .filter(|r| match r.spec.marker() {
            Some(m) => m.owner == owner.as_str() && !live.contains(&(m.namespace, m.name)),
            None => false,
        })
        .cloned()
        .collect()
}
