//! The provider side of a reconcile, free of Kubernetes IO: given the cluster view, plan and apply
//! one Ingress (or the garbage collection) through [`CdnApi`] and [`DnsApi`].
//!
//! All reconciles share one provider snapshot (`Cache`): it is listed once, kept current with our
//! own writes, and re-listed when a resync marks it stale. So a resync of N Ingresses costs one
//! list per provider, and at steady state no writes at all. Provider work is serialised by the
//! cache lock, which also keeps two reconciles from racing on the shared origin records.

use std::collections::BTreeSet;
use std::sync::Arc;

use k8s_openapi::api::networking::v1::Ingress;
use kube::ResourceExt;
use tokio::sync::Mutex;

use super::backend::{CdnApi, DnsApi};
use super::error::ReconcileError;
use crate::ingress::{Cluster, origin_addresses, translate};
use crate::metrics::Metrics;
use crate::names::reason;
use crate::plan::{
    DnsRecord, Marker, PlanSettings, RemoteRule, desired_rules, diff_rules, live_ingresses,
    orphans, plan_dns,
};

/// Something to tell the user on the Ingress (a Kubernetes Event).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Note {
    pub warning: bool,
    pub reason: &'static str,
    pub message: String,
}

impl Note {
    fn normal(reason: &'static str, message: String) -> Self {
        Self {
            warning: false,
            reason,
            message,
        }
    }
    fn warning(reason: &'static str, message: String) -> Self {
        Self {
            warning: true,
            reason,
            message,
        }
    }
}

/// The result of one pass over one Ingress (or the GC).
#[derive(Debug, Default)]
pub struct Outcome {
    /// Published hosts of the Ingress (what `status.loadBalancer.ingress` should list).
    pub hosts: Vec<String>,
    pub notes: Vec<Note>,
    pub errors: Vec<ReconcileError>,
    /// Provider writes made.
    pub writes: usize,
    /// Reasons of route-skipping translation findings (counted as errors in the metrics).
    pub skipped: Vec<&'static str>,
}

impl Outcome {
    fn fail(&mut self, e: ReconcileError) {
        self.notes.push(Note::warning(e.reason(), e.to_string()));
        self.errors.push(e);
    }

    /// The first error worth retrying with backoff, if any.
    pub fn retryable_error(&self) -> Option<&ReconcileError> {
        self.errors.iter().find(|e| e.is_retryable())
    }
}

#[derive(Debug, Default)]
struct Cache {
    rules: Option<Vec<RemoteRule>>,
    records: Option<Vec<DnsRecord>>,
}

pub struct Engine {
    cdn: Arc<dyn CdnApi>,
    dns: Arc<dyn DnsApi>,
    pub settings: PlanSettings,
    metrics: Arc<Metrics>,
    cache: Mutex<Cache>,
}

impl Engine {
    pub fn new(
        cdn: Arc<dyn CdnApi>,
        dns: Arc<dyn DnsApi>,
        settings: PlanSettings,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            cdn,
            dns,
            settings,
            metrics,
            cache: Mutex::new(Cache::default()),
        }
    }

    /// Forget the provider snapshot: the next reconcile lists again (drift repair on resync).
    pub async fn invalidate(&self) {
        *self.cache.lock().await = Cache::default();
    }

    /// Lists what is missing from the cache.
    async fn load(&self, cache: &mut Cache) -> Result<(), ReconcileError> {
        if cache.rules.is_none() {
            cache.rules = Some(
                self.cdn
                    .list_rules()
                    .await
                    .map_err(ReconcileError::ListRules)?,
            );
        }
        if cache.records.is_none() {
            cache.records = Some(
                self.dns
                    .list_records()
                    .await
                    .map_err(ReconcileError::ListRecords)?,
            );
        }
        Ok(())
    }

    /// Lists both providers afresh, without touching the cache; for `plan`.
    pub async fn snapshot(&self) -> Result<(Vec<RemoteRule>, Vec<DnsRecord>), ReconcileError> {
        let rules = self
            .cdn
            .list_rules()
            .await
            .map_err(ReconcileError::ListRules)?;
        let records = self
            .dns
            .list_records()
            .await
            .map_err(ReconcileError::ListRecords)?;
        Ok((rules, records))
    }

    fn marker(&self, namespace: &str, name: &str) -> Marker {
        self.settings.rules.marker(namespace, name)
    }

    fn is_ours(&self, rule: &RemoteRule) -> bool {
        rule.spec
            .marker()
            .is_some_and(|m| m.owner == self.settings.rules.owner_id.as_str())
    }

    /// Publishes one Ingress of ours: its rules, then the origin records.
    pub async fn publish(&self, cluster: &Cluster, ingress: &Ingress) -> Outcome {
        let mut out = Outcome::default();
        let namespace = ingress.namespace().unwrap_or_default();
        let name = ingress.name_any();
        let routes = {
            let _t = self.metrics.stage("translate");
            translate(ingress, cluster)
        };
        for p in &routes.problems {
            if p.skips_route() {
                out.skipped.push(p.reason());
            }
            out.notes.push(Note {
                warning: p.is_warning(),
                reason: p.reason(),
                message: p.to_string(),
            });
        }

        let mut cache = self.cache.lock().await;
        if let Err(e) = self.load(&mut cache).await {
            out.fail(e);
            return out;
        }
        let marker = self.marker(&namespace, &name);
        let plan = {
            let _t = self.metrics.stage("plan");
            let desired = desired_rules(&routes, &self.settings.rules);
            diff_rules(
                &desired,
                cache.rules.as_deref().unwrap_or(&[]),
                &marker,
                &routes.held,
            )
        };
        for c in &plan.conflicts {
            out.fail(ReconcileError::Refused(c.clone()));
        }
        {
            let _t = self.metrics.stage("apply_cdn");
            let rules = cache.rules.get_or_insert_with(Vec::new);
            let mut changed = Vec::new();
            for spec in &plan.creates {
                let target = format!("{}{}", spec.published_host, spec.published_path);
                match self.cdn.create_rule(spec).await {
                    Ok(rule) => {
                        changed.push(format!("created {}", rule.spec.describe()));
                        rules.push(rule);
                        out.writes += 1;
                    }
                    Err(source) => {
                        out.writes += 1;
                        out.fail(ReconcileError::CreateRule { target, source });
                    }
                }
            }
            for (have, want) in &plan.updates {
                let target = format!("{}{}", want.published_host, want.published_path);
                out.writes += 1;
                match self.cdn.replace_rule(&have.uuid, want).await {
                    Ok(rule) => {
                        changed.push(format!("updated {}", rule.spec.describe()));
                        rules.retain(|r| r.uuid != have.uuid);
                        rules.push(rule);
                    }
                    Err(source) if source.not_found => {
                        // Deleted behind our back: create it again.
                        rules.retain(|r| r.uuid != have.uuid);
                        out.writes += 1;
                        match self.cdn.create_rule(want).await {
                            Ok(rule) => {
                                changed.push(format!("recreated {}", rule.spec.describe()));
                                rules.push(rule);
                            }
                            Err(source) => out.fail(ReconcileError::CreateRule { target, source }),
                        }
                    }
                    Err(source) => out.fail(ReconcileError::UpdateRule { target, source }),
                }
            }
            let removed = self.delete_rules(&mut cache, &plan.deletes, &mut out).await;
            changed.extend(removed.iter().map(|d| format!("deleted {d}")));
            if !changed.is_empty() {
                out.notes
                    .push(Note::normal(reason::PUBLISHED, changed.join("; ")));
            }
        }
        self.sync_dns(&mut cache, cluster, &mut out).await;
        let mut hosts: Vec<String> = cache
            .rules
            .iter()
            .flatten()
            .filter(|r| r.spec.marker().as_ref() == Some(&marker))
            .map(|r| r.spec.published_host.to_ascii_lowercase())
            .collect();
        hosts.sort();
        hosts.dedup();
        out.hosts = hosts;
        self.update_gauges(&cache);
        out
    }

    /// Removes every rule of one Ingress (deleted or no longer ours), then the origin records if
    /// no rule of ours is left.
    pub async fn unpublish(&self, cluster: &Cluster, namespace: &str, name: &str) -> Outcome {
        let mut out = Outcome::default();
        let mut cache = self.cache.lock().await;
        if let Err(e) = self.load(&mut cache).await {
            out.fail(e);
            return out;
        }
        let marker = self.marker(namespace, name);
        let doomed: Vec<RemoteRule> = cache
            .rules
            .iter()
            .flatten()
            .filter(|r| r.spec.marker().as_ref() == Some(&marker))
            .cloned()
            .collect();
        let removed = {
            let _t = self.metrics.stage("apply_cdn");
            self.delete_rules(&mut cache, &doomed, &mut out).await
        };
        if !removed.is_empty() {
            out.notes.push(Note::normal(
                reason::UNPUBLISHED,
                format!("deleted {}", removed.join("; ")),
            ));
        }
        self.sync_dns(&mut cache, cluster, &mut out).await;
        self.update_gauges(&cache);
        out
    }

    /// Garbage collection, at start and on every resync: re-list both providers (the one list per
    /// resync), delete rules of ours whose Ingress is gone or no longer ours, and fix the origin
    /// records. The refreshed snapshot is then shared by the resync's reconciles.
    pub async fn collect_garbage(&self, cluster: &Cluster) -> Outcome {
        let _t = self.metrics.stage("gc");
        let mut out = Outcome::default();
        let mut cache = self.cache.lock().await;
        *cache = Cache::default();
        if let Err(e) = self.load(&mut cache).await {
            out.fail(e);
            return out;
        }
        let live: BTreeSet<(String, String)> = live_ingresses(cluster, &self.settings.class);
        // An Ingress still carrying our finalizer is cleaned up by its own reconcile (which then
        // releases the finalizer); GC only takes rules nobody will come back for.
        let pending: BTreeSet<(String, String)> = cluster
            .ingresses
            .iter()
            .filter(|i| {
                crate::ingress::class::finalizer_is_ours(i, self.settings.rules.owner_id.as_str())
            })
            .map(|i| (i.namespace().unwrap_or_default(), i.name_any()))
            .collect();
        let keep: BTreeSet<(String, String)> = live.union(&pending).cloned().collect();
        let doomed = orphans(
            cache.rules.as_deref().unwrap_or(&[]),
            &self.settings.rules.owner_id,
            &keep,
        );
        let removed = {
            let _t = self.metrics.stage("apply_cdn");
            self.delete_rules(&mut cache, &doomed, &mut out).await
        };
        if !removed.is_empty() {
            out.notes.push(Note::normal(
                reason::UNPUBLISHED,
                format!("garbage-collected {}", removed.join("; ")),
            ));
        }
        self.sync_dns(&mut cache, cluster, &mut out).await;
        self.update_gauges(&cache);
        out
    }

    /// Deletes `doomed` (a rule already gone counts as deleted) and drops them from the cache;
    /// returns the descriptions of those deleted. Callers time it as part of `apply_cdn`.
    async fn delete_rules(
        &self,
        cache: &mut Cache,
        doomed: &[RemoteRule],
        out: &mut Outcome,
    ) -> Vec<String> {
        let rules = cache.rules.get_or_insert_with(Vec::new);
        let mut removed = Vec::new();
        for have in doomed {
            out.writes += 1;
            match self.cdn.delete_rule(&have.uuid).await {
                Ok(()) => {
                    removed.push(have.spec.describe());
                    rules.retain(|r| r.uuid != have.uuid);
                }
                Err(source) if source.not_found => rules.retain(|r| r.uuid != have.uuid),
                Err(source) => out.fail(ReconcileError::DeleteRule {
                    target: format!("{}{}", have.spec.published_host, have.spec.published_path),
                    source,
                }),
            }
        }
        removed
    }

    /// Brings the origin records in line: wanted while any rule of ours exists. Creates go first;
    /// if one fails nothing is deleted, so the name keeps resolving.
    async fn sync_dns(&self, cache: &mut Cache, cluster: &Cluster, out: &mut Outcome) {
        let _t = self.metrics.stage("apply_dns");
        let wanted = cache.rules.iter().flatten().any(|r| self.is_ours(r));
        let addresses = origin_addresses(&cluster.nodes, &self.settings.node_address_types);
        let records = cache.records.get_or_insert_with(Vec::new);
        let plan = match plan_dns(wanted, &addresses, records, &self.settings.dns) {
            Ok(p) => p,
            Err(e) => {
                out.fail(ReconcileError::Refused(e));
                return;
            }
        };
        if plan.no_addresses {
            out.notes.push(Note::warning(
                reason::NO_READY_NODES,
                format!(
                    "no ready, schedulable node has an address of type {}; origin records left as they are",
                    self.settings.node_address_types.join(",")
                ),
            ));
        }
        let mut changed = Vec::new();
        for new in &plan.creates {
            out.writes += 1;
            match self.dns.create_record(new).await {
                Ok(r) => {
                    changed.push(format!("+{} {} {}", r.record_type, r.name, r.data));
                    records.push(r);
                }
                Err(source) => {
                    out.fail(ReconcileError::CreateRecord {
                        target: format!("{} {} {}", new.record_type, new.name, new.data),
                        source,
                    });
                    return;
                }
            }
        }
        for old in &plan.deletes {
            out.writes += 1;
            match self.dns.delete_record(&old.id).await {
                Ok(()) => {
                    changed.push(format!("-{} {} {}", old.record_type, old.name, old.data));
                    records.retain(|r| r.id != old.id);
                }
                Err(source) if source.not_found => records.retain(|r| r.id != old.id),
                Err(source) => {
                    out.fail(ReconcileError::DeleteRecord {
                        target: format!("{} {} {}", old.record_type, old.name, old.data),
                        source,
                    });
                    return;
                }
            }
        }
        if !changed.is_empty() {
            tracing::info!(changes = %changed.join(", "), "origin DNS records updated");
        }
    }

    fn update_gauges(&self, cache: &Cache) {
        let rules = cache
            .rules
            .iter()
            .flatten()
            .filter(|r| self.is_ours(r))
            .count();
        self.metrics.managed_rules.set(rules as i64);
        let owner_name = self.settings.dns.owner_record_name();
        let records = cache.records.iter().flatten().collect::<Vec<_>>();
        let owned = records.iter().any(|r| {
            r.name == owner_name
                && crate::plan::dns::txt_owner(&r.data).as_deref()
                    == Some(self.settings.dns.owner_id.as_str())
        });
        let count = if owned {
            records
                .iter()
                .filter(|r| {
                    (r.name == self.settings.dns.origin_name && r.record_type == "A")
                        || (r.name == owner_name && r.record_type == "TXT")
                })
                .count()
        } else {
            0
        };
        self.metrics.managed_records.set(count as i64);
    }
}
