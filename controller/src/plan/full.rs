//! The whole-cluster plan: every Ingress of ours, the orphans, and the origin records. This is
//! what `edgio-ingress plan` prints; the controller applies the same pieces one Ingress at a time.

use std::collections::BTreeSet;
use std::fmt;

use kube::ResourceExt;

use super::model::{DnsRecord, RemoteRule};
use super::{
    DnsPlan, DnsSettings, PlanError, RulePlan, RuleSettings, desired_rules, diff_rules, orphans,
    plan_dns,
};
use crate::ingress::{
    ClassConfig, Cluster, IngressError, Lifecycle, lifecycle, origin_addresses, translate,
};

/// Everything the planner needs besides the cluster and the provider state.
#[derive(Debug, Clone)]
pub struct PlanSettings {
    pub rules: RuleSettings,
    pub dns: DnsSettings,
    pub class: ClassConfig,
    /// Node address types in order of preference (`ExternalIP`, `InternalIP`).
    pub node_address_types: Vec<String>,
}

/// The plan for one Ingress.
#[derive(Debug, Clone)]
pub struct IngressPlan {
    pub namespace: String,
    pub name: String,
    pub rules: RulePlan,
    pub problems: Vec<IngressError>,
}

#[derive(Debug, Clone)]
pub struct FullPlan {
    pub ingresses: Vec<IngressPlan>,
    /// Rules of ours whose Ingress is gone or no longer ours.
    pub orphans: Vec<RemoteRule>,
    pub dns: Result<DnsPlan, PlanError>,
}

impl FullPlan {
    pub fn writes(&self) -> usize {
        self.ingresses
            .iter()
            .map(|i| i.rules.writes())
            .sum::<usize>()
            + self.orphans.len()
            + self.dns.as_ref().map(DnsPlan::writes).unwrap_or(0)
    }
}

/// Namespace/name of every Ingress that is ours and alive.
pub fn live_ingresses(cluster: &Cluster, class: &ClassConfig) -> BTreeSet<(String, String)> {
    cluster
        .ingresses
        .iter()
        .filter(|i| lifecycle(i, &cluster.classes, class) == Lifecycle::Publish)
        .map(|i| (i.namespace().unwrap_or_default(), i.name_any()))
        .collect()
}

pub fn full_plan(
    cluster: &Cluster,
    rules: &[RemoteRule],
    records: &[DnsRecord],
    settings: &PlanSettings,
) -> FullPlan {
    let live = live_ingresses(cluster, &settings.class);
    let mut ingresses = Vec::new();
    let mut removed: BTreeSet<String> = BTreeSet::new();
    let mut created = 0usize;
    for ingress in &cluster.ingresses {
        let ns = ingress.namespace().unwrap_or_default();
        let name = ingress.name_any();
        if !live.contains(&(ns.clone(), name.clone())) {
            continue;
        }
        let routes = translate(ingress, cluster);
        let desired = desired_rules(&routes, &settings.rules);
        let marker = settings.rules.marker(&ns, &name);
        let plan = diff_rules(&desired, rules, &marker, &routes.held);
        removed.extend(plan.deletes.iter().map(|r| r.uuid.clone()));
        created += plan.creates.len();
        ingresses.push(IngressPlan {
            namespace: ns,
            name,
            rules: plan,
            problems: routes.problems,
        });
    }
    let orphans = orphans(rules, &settings.rules.owner_id, &live);
    removed.extend(orphans.iter().map(|r| r.uuid.clone()));
    let remaining = rules
        .iter()
        .filter(|r| {
            r.spec
                .marker()
                .is_some_and(|m| m.owner == settings.rules.owner_id.as_str())
        })
        .filter(|r| !removed.contains(&r.uuid))
        .count();
    let wanted = remaining + created > 0;
    let addresses = origin_addresses(&cluster.nodes, &settings.node_address_types);
    let dns = plan_dns(wanted, &addresses, records, &settings.dns);
    FullPlan {
        ingresses,
        orphans,
        dns,
    }
}

impl fmt::Display for FullPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for ing in &self.ingresses {
            writeln!(f, "ingress {}/{}", ing.namespace, ing.name)?;
            for c in &ing.rules.creates {
                writeln!(f, "  + rule {}", c.describe())?;
            }
            for (have, want) in &ing.rules.updates {
                writeln!(f, "  ~ rule {} [{}]", want.describe(), have.uuid)?;
                writeln!(f, "      was {}", have.spec.describe())?;
            }
            for d in &ing.rules.deletes {
                writeln!(f, "  - rule {} [{}]", d.spec.describe(), d.uuid)?;
            }
            for c in &ing.rules.conflicts {
                writeln!(f, "  ! {}: {c}", c.reason())?;
            }
            for p in &ing.problems {
                writeln!(f, "  ! {}: {p}", p.reason())?;
            }
            if ing.rules.is_empty() {
                writeln!(f, "  = rules in sync")?;
            }
        }
        for o in &self.orphans {
            let owner = o.spec.marker().map(|m| m.to_string()).unwrap_or_default();
            writeln!(
                f,
                "orphan - rule {} [{}] of {owner}",
                o.spec.describe(),
                o.uuid
            )?;
        }
        match &self.dns {
            Ok(d) => {
                for c in &d.creates {
                    writeln!(
                        f,
                        "dns + {} {} {:?} ttl {}",
                        c.record_type,
                        display_name(&c.name),
                        c.data,
                        c.ttl
                    )?;
                }
                for r in &d.deletes {
                    writeln!(
                        f,
                        "dns - {} {} {:?} [{}]",
                        r.record_type,
                        display_name(&r.name),
                        r.data,
                        r.id
                    )?;
                }
                if d.no_addresses {
                    writeln!(
                        f,
                        "dns ! no ready node address: origin records left as they are"
                    )?;
                }
                if d.is_empty() {
                    writeln!(f, "dns = in sync")?;
                }
            }
            Err(e) => writeln!(f, "dns ! {}: {e}", e.reason())?,
        }
        writeln!(f, "{} write(s) planned", self.writes())
    }
}

fn display_name(name: &str) -> &str {
    if name.is_empty() { "@" } else { name }
}
