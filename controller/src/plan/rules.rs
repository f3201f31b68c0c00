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
    let mine: Vec<&RemoteRule> = all_rules
        .iter()
        .filter(|r| r.spec.marker().as_ref() == Some(marker))
        .collect();
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
                        && r.spec
                            .published_protocols()
                            .iter()
                            .any(|p| protocols.contains(p))
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
pub fn orphans(
    all_rules: &[RemoteRule],
    owner: &OwnerId,
    live: &BTreeSet<(String, String)>,
) -> Vec<RemoteRule> {
    all_rules
        .iter()
        .filter(|r| match r.spec.marker() {
            Some(m) => m.owner == owner.as_str() && !live.contains(&(m.namespace, m.name)),
            None => false,
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingress::{Protocols, translate};
    use crate::testing::*;
    use proptest::prelude::*;

    fn routes_for(paths: &[(&str, &str, u16)]) -> IngressRoutes {
        let mut b = ingress("web");
        let mut services = Vec::new();
        for (i, (host, path, np)) in paths.iter().enumerate() {
            let name = format!("svc{i}");
            services.push(service(
                &name,
                "NodePort",
                &[("http", 80, Some(i32::from(*np)))],
            ));
            b = b.path(
                host,
                path,
                "ImplementationSpecific",
                &name,
                Port::Name("http"),
            );
        }
        translate(&b.build(), &cluster(&[], &services, &[]))
    }

    fn remote(uuid: &str, spec: RuleSpec) -> RemoteRule {
        RemoteRule {
            uuid: uuid.into(),
            spec,
        }
    }

    fn settings_a() -> RuleSettings {
        settings("cluster-a").rules
    }

    #[test]
    fn desired_rule_publishes_http_and_https_to_the_node_port_with_the_owner_header() {
        let rules = desired_rules(
            &routes_for(&[("demo.s.llnwi.net", "/fred", 30080)]),
            &settings_a(),
        );
        assert_eq!(rules.len(), 1);
        let r = &rules[0];
        assert_eq!(
            (r.published_host.as_str(), r.published_path.as_str()),
            ("demo.s.llnwi.net", "/fred")
        );
        assert_eq!(
            (r.source_host.as_str(), r.source_path.as_str()),
            ("origin.example.com", "")
        );
        assert_eq!(r.published_protocols(), vec!["http", "https"]);
        for p in &r.protocol_sets {
            assert_eq!(
                (p.source_protocol.as_str(), p.source_port),
                ("http", Some(30080))
            );
        }
        assert_eq!(r.marker(), Some(settings_a().marker("default", "web")));
    }

    #[test]
    fn https_only_annotation_publishes_a_single_protocol_set() {
        let mut routes = routes_for(&[("a.example.com", "/", 30080)]);
        routes.protocols = Protocols {
            http: false,
            https: true,
        };
        assert_eq!(
            desired_rules(&routes, &settings_a())[0].published_protocols(),
            vec!["https"]
        );
    }

    #[test]
    #[allow(clippy::type_complexity)]
    fn diff_creates_updates_deletes_and_reports_conflicts_as_tabled() {
        let s = settings_a();
        let mk = |paths: &[(&str, &str, u16)]| desired_rules(&routes_for(paths), &s);
        let marker = s.marker("default", "web");
        let other_ingress = s.marker("default", "other");
        let fred = mk(&[("a.example.com", "/fred", 30080)]).remove(0);
        let fred_new_port = mk(&[("a.example.com", "/fred", 30081)]).remove(0);
        let bob = mk(&[("a.example.com", "/bob", 30080)]).remove(0);
        let mut foreign = fred.clone();
        for p in &mut foreign.protocol_sets {
            p.options.clear();
        }
        let mut other_owner = fred.clone();
        for p in &mut other_owner.protocol_sets {
            p.options[0].parameters[1] = serde_json::Value::from("cluster-b/default/web");
        }
        let mut other_ing = bob.clone();
        for p in &mut other_ing.protocol_sets {
            p.options[0].parameters[1] = serde_json::Value::from(other_ingress.to_string());
        }
        let none = BTreeSet::new();
        let held_fred: BTreeSet<(String, String)> =
            [("a.example.com".to_string(), "/fred".to_string())].into();

        // (what, desired, remote, held, creates, updated uuids, deleted uuids, conflicts)
        let table: Vec<(
            &str,
            Vec<RuleSpec>,
            Vec<RemoteRule>,
            &BTreeSet<(String, String)>,
            usize,
            Vec<&str>,
            Vec<&str>,
            usize,
        )> = vec![
            (
                "new rule is created",
                vec![fred.clone()],
                vec![],
                &none,
                1,
                vec![],
                vec![],
                0,
            ),
            (
                "equal rule is left alone",
                vec![fred.clone()],
                vec![remote("u1", fred.clone())],
                &none,
                0,
                vec![],
                vec![],
                0,
            ),
            (
                "changed port is updated in place",
                vec![fred_new_port.clone()],
                vec![remote("u1", fred.clone())],
                &none,
                0,
                vec!["u1"],
                vec![],
                0,
            ),
            (
                "edited path creates the new and deletes the old",
                vec![bob.clone()],
                vec![remote("u1", fred.clone())],
                &none,
                1,
                vec![],
                vec!["u1"],
                0,
            ),
            (
                "removed route is deleted",
                vec![],
                vec![remote("u1", fred.clone())],
                &none,
                0,
                vec![],
                vec!["u1"],
                0,
            ),
            (
                "held route keeps its rule",
                vec![],
                vec![remote("u1", fred.clone())],
                &held_fred,
                0,
                vec![],
                vec![],
                0,
            ),
            (
                "duplicate copies are deleted",
                vec![fred.clone()],
                vec![remote("u1", fred.clone()), remote("u2", fred.clone())],
                &none,
                0,
                vec![],
                vec!["u2"],
                0,
            ),
            (
                "unmarked rule on our key is a conflict, untouched",
                vec![fred.clone()],
                vec![remote("h1", foreign.clone())],
                &none,
                0,
                vec![],
                vec![],
                1,
            ),
            (
                "other owner's rule on our key is a conflict, untouched",
                vec![fred.clone()],
                vec![remote("o1", other_owner.clone())],
                &none,
                0,
                vec![],
                vec![],
                1,
            ),
            (
                "other owner's rules are never deleted",
                vec![],
                vec![
                    remote("o1", other_owner.clone()),
                    remote("h1", foreign.clone()),
                ],
                &none,
                0,
                vec![],
                vec![],
                0,
            ),
            (
                "our other Ingress's rule is not ours to delete",
                vec![],
                vec![remote("x1", other_ing.clone())],
                &none,
                0,
                vec![],
                vec![],
                0,
            ),
        ];
        for (what, desired, remote_rules, held, creates, updates, deletes, conflicts) in table {
            let plan = diff_rules(&desired, &remote_rules, &marker, held);
            assert_eq!(plan.creates.len(), creates, "{what}: creates");
            assert_eq!(
                plan.updates
                    .iter()
                    .map(|(r, _)| r.uuid.as_str())
                    .collect::<Vec<_>>(),
                updates,
                "{what}: updates"
            );
            assert_eq!(
                plan.deletes
                    .iter()
                    .map(|r| r.uuid.as_str())
                    .collect::<Vec<_>>(),
                deletes,
                "{what}: deletes"
            );
            assert_eq!(plan.conflicts.len(), conflicts, "{what}: conflicts");
        }
    }

    #[test]
    fn server_filled_default_ports_and_reordered_sets_count_as_equal() {
        let s = settings_a();
        let want = desired_rules(&routes_for(&[("a.example.com", "/", 30080)]), &s).remove(0);
        let mut have = want.clone();
        have.protocol_sets.reverse();
        for p in &mut have.protocol_sets {
            p.published_port = Some(if p.published_protocol == "https" {
                443
            } else {
                80
            });
        }
        have.published_host = "A.example.com".into();
        assert!(have.same_as(&want));
        have.protocol_sets[0].published_port = Some(8443);
        assert!(!have.same_as(&want));
    }

    #[test]
    fn orphans_are_our_rules_whose_ingress_is_not_live() {
        let s = settings_a();
        let fred = desired_rules(&routes_for(&[("a.example.com", "/fred", 30080)]), &s).remove(0);
        let mut theirs = fred.clone();
        for p in &mut theirs.protocol_sets {
            p.options[0].parameters[1] = serde_json::Value::from("cluster-b/default/gone");
        }
        let rules = vec![remote("ours", fred), remote("theirs", theirs)];
        let live: BTreeSet<(String, String)> = BTreeSet::new();
        let got: Vec<String> = orphans(&rules, &s.owner_id, &live)
            .into_iter()
            .map(|r| r.uuid)
            .collect();
        assert_eq!(got, vec!["ours"]);
        let live: BTreeSet<(String, String)> = [("default".to_string(), "web".to_string())].into();
        assert!(orphans(&rules, &s.owner_id, &live).is_empty());
    }

    /// Applies a plan the way the reconciler does, to a list of remote rules.
    fn apply(plan: &RulePlan, remote_rules: &mut Vec<RemoteRule>, next: &mut u32) {
        for c in &plan.creates {
            *next += 1;
            remote_rules.push(RemoteRule {
                uuid: format!("n{next}"),
                spec: c.clone(),
            });
        }
        for (have, want) in &plan.updates {
            if let Some(r) = remote_rules.iter_mut().find(|r| r.uuid == have.uuid) {
                r.spec = want.clone();
            }
        }
        for d in &plan.deletes {
            remote_rules.retain(|r| r.uuid != d.uuid);
        }
    }

    proptest! {
        #[test]
        fn applying_a_plan_converges_in_one_step_and_never_touches_unowned_rules(
            before in proptest::collection::vec(("[ab]", "/[xyz]{0,2}", 30000u16..30003), 0..5),
            after in proptest::collection::vec(("[ab]", "/[xyz]{0,2}", 30000u16..30003), 0..5),
            foreign in proptest::collection::vec(("[ab]", "/[xyz]{0,2}"), 0..3),
        ) {
            let s = settings_a();
            let marker = s.marker("default", "web");
            let hosts = |v: &[(String, String, u16)]| -> Vec<(String, String, u16)> {
                v.iter().map(|(h, p, n)| (format!("{h}.example.com"), p.clone(), *n)).collect()
            };
            let before = hosts(&before);
            let after = hosts(&after);
            let to_routes = |v: &[(String, String, u16)]| {
                let refs: Vec<(&str, &str, u16)> = v.iter().map(|(h, p, n)| (h.as_str(), p.as_str(), *n)).collect();
                routes_for(&refs)
            };
            let mut remote_rules: Vec<RemoteRule> = Vec::new();
            for (i, (h, p)) in foreign.iter().enumerate() {
                let mut spec = desired_rules(&to_routes(&[(format!("{h}.example.com"), p.clone(), 30000)]), &s).remove(0);
                for ps in &mut spec.protocol_sets { ps.options.clear(); }
                remote_rules.push(RemoteRule { uuid: format!("f{i}"), spec });
            }
            let foreign_before: Vec<RemoteRule> = remote_rules.clone();
            let mut next = 0;
            let none = BTreeSet::new();
            for state in [&before, &after] {
                let desired = desired_rules(&to_routes(state), &s);
                let plan = diff_rules(&desired, &remote_rules, &marker, &none);
                apply(&plan, &mut remote_rules, &mut next);
                let again = diff_rules(&desired, &remote_rules, &marker, &none);
                prop_assert!(again.is_empty(), "second plan not empty: {:?}", again);
                for f in &foreign_before {
                    prop_assert!(remote_rules.contains(f), "unowned rule {} changed", f.uuid);
                }
                // Every desired rule is either ours on the CDN or reported as a conflict.
                let ours = remote_rules.iter().filter(|r| r.spec.marker().as_ref() == Some(&marker)).count();
                prop_assert_eq!(ours + again.conflicts.len(), desired.len());
            }
        }
    }
}
