//! The Kubernetes side of reconciling: kube-runtime's Controller over Ingresses, with watches on
//! Services, Nodes and IngressClasses mapped to the Ingresses they affect, the finalizer, status
//! and Events. All provider work is delegated to the [`Engine`].

use std::collections::{BTreeSet, HashMap};
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{Stream, StreamExt};
use k8s_openapi::api::core::v1::{Node, Service};
use k8s_openapi::api::networking::v1::{Ingress, IngressClass};
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, Resource, ResourceExt};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use super::engine::{Engine, Note, Outcome};
use super::error::ReconcileError;
use crate::ingress::class::{finalizer_owner, has_finalizer};
use crate::ingress::nodes::node_is_usable;
use crate::ingress::{Cluster, Lifecycle, lifecycle};
use crate::metrics::Metrics;
use crate::names::{ANNOTATION_OWNER, FIELD_MANAGER, FINALIZER};
use crate::status;

/// Waits until a watch cache has its first full list. A store shared with the Controller can have
/// several waiters, and its readiness channel only wakes the last one that polled it; so wait in
/// short slices, each polling afresh, instead of parking forever on a lost wake-up.
async fn store_ready<K>(store: &Store<K>) -> bool
where
    K: kube::Resource + Clone + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    loop {
        match tokio::time::timeout(Duration::from_millis(200), store.wait_until_ready()).await {
            Ok(result) => return result.is_ok(),
            Err(_) => continue,
        }
    }
}

/// Notes as (warning, reason, message), for comparing passes.
type NoteSet = BTreeSet<(bool, &'static str, String)>;

/// Watch caches of everything a reconcile reads.
#[derive(Clone)]
pub struct Stores {
    pub ingresses: Store<Ingress>,
    pub services: Store<Service>,
    pub nodes: Store<Node>,
    pub classes: Store<IngressClass>,
}

impl Stores {
    pub fn cluster(&self) -> Cluster {
        Cluster {
            ingresses: self.ingresses.state(),
            services: self.services.state(),
            nodes: self.nodes.state(),
            classes: self.classes.state(),
        }
    }

    async fn wait_until_ready(&self) -> bool {
        store_ready(&self.ingresses).await
            && store_ready(&self.services).await
            && store_ready(&self.nodes).await
            && store_ready(&self.classes).await
    }
}

pub struct Context {
    pub client: Client,
    pub engine: Arc<Engine>,
    pub metrics: Arc<Metrics>,
    pub recorder: Recorder,
    pub stores: Stores,
    /// Consecutive failures per Ingress, for exponential backoff.
    failures: Mutex<HashMap<String, u32>>,
    /// Notes last published per Ingress, so a resync does not repeat the same Events.
    emitted: Mutex<HashMap<String, NoteSet>>,
}

fn key_of(ing: &Ingress) -> String {
    format!("{}/{}", ing.namespace().unwrap_or_default(), ing.name_any())
}

impl Context {
    pub fn new(
        client: Client,
        engine: Arc<Engine>,
        metrics: Arc<Metrics>,
        reporter: Reporter,
        stores: Stores,
    ) -> Self {
        Self {
            recorder: Recorder::new(client.clone(), reporter),
            client,
            engine,
            metrics,
            stores,
            failures: Mutex::default(),
            emitted: Mutex::default(),
        }
    }

    /// Publishes the notes not already published by the previous pass over this Ingress.
    async fn report(&self, ing: &Ingress, notes: &[Note]) {
        let key = key_of(ing);
        let current: BTreeSet<(bool, &'static str, String)> = notes
            .iter()
            .map(|n| (n.warning, n.reason, n.message.clone()))
            .collect();
        let fresh: Vec<&Note> = {
            let mut emitted = self.emitted.lock().unwrap_or_else(|p| p.into_inner());
            let previous = emitted.insert(key, current).unwrap_or_default();
            notes
                .iter()
                .filter(|n| !previous.contains(&(n.warning, n.reason, n.message.clone())))
                .collect()
        };
        let reference = ing.object_ref(&());
        for note in fresh {
            // Logged once per change, like the Event, not on every resync.
            if note.warning {
                tracing::warn!(ingress = %key_of(ing), reason = note.reason, "{}", note.message);
            } else {
                tracing::info!(ingress = %key_of(ing), reason = note.reason, "{}", note.message);
            }
            let mut message = note.message.clone();
            message.truncate(1000);
            let event = Event {
                type_: if note.warning {
                    EventType::Warning
                } else {
                    EventType::Normal
                },
                reason: note.reason.to_string(),
                note: Some(message),
                action: "Reconcile".to_string(),
                secondary: None,
            };
            if let Err(e) = self.recorder.publish(&event, &reference).await {
                tracing::warn!(ingress = %key_of(ing), error = %e, "failed to publish Event");
            }
        }
    }

    fn count(&self, out: &Outcome) {
        for e in &out.errors {
            self.metrics.error(e.reason());
        }
        for reason in &out.skipped {
            self.metrics.error(reason);
        }
    }
}

/// JSON Pointer for an annotation key (`/` in keys is escaped as `~1`).
fn annotation_path(key: &str) -> String {
    format!(
        "/metadata/annotations/{}",
        key.replace('~', "~0").replace('/', "~1")
    )
}

/// Adds our finalizer and records our owner id next to it, guarded by the resourceVersion we saw
/// (a stale copy is refused and retried with the fresh object).
async fn add_finalizer(
    api: &Api<Ingress>,
    ing: &Ingress,
    owner_id: &str,
) -> Result<(), kube::Error> {
    let mut ops = vec![json!({
        "op": "test", "path": "/metadata/resourceVersion", "value": ing.resource_version()
    })];
    if !has_finalizer(ing) {
        ops.push(match ing.metadata.finalizers {
            None => json!({"op": "add", "path": "/metadata/finalizers", "value": [FINALIZER]}),
            Some(_) => json!({"op": "add", "path": "/metadata/finalizers/-", "value": FINALIZER}),
        });
    }
    ops.push(match ing.metadata.annotations {
        None => json!({"op": "add", "path": "/metadata/annotations", "value": {ANNOTATION_OWNER: owner_id}}),
        Some(_) => json!({"op": "add", "path": annotation_path(ANNOTATION_OWNER), "value": owner_id}),
    });
    let patch: json_patch::Patch =
        serde_json::from_value(serde_json::Value::Array(ops)).map_err(kube::Error::SerdeError)?;
    api.patch(
        &ing.name_any(),
        &PatchParams::default(),
        &Patch::Json::<()>(patch),
    )
    .await?;
    Ok(())
}

/// Removes our finalizer (and our owner annotation); an Ingress already gone is fine.
async fn remove_finalizer(api: &Api<Ingress>, ing: &Ingress) -> Result<(), kube::Error> {
    let Some(index) = ing.finalizers().iter().position(|f| f == FINALIZER) else {
        return Ok(());
    };
    let path = format!("/metadata/finalizers/{index}");
    let mut ops = vec![
        json!({"op": "test", "path": path, "value": FINALIZER}),
        json!({"op": "remove", "path": path}),
    ];
    if finalizer_owner(ing).is_some() {
        ops.push(json!({"op": "remove", "path": annotation_path(ANNOTATION_OWNER)}));
    }
    let patch: json_patch::Patch =
        serde_json::from_value(serde_json::Value::Array(ops)).map_err(kube::Error::SerdeError)?;
    match api
        .patch(
            &ing.name_any(),
            &PatchParams::default(),
            &Patch::Json::<()>(patch),
        )
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(e) => Err(e),
    }
}

async fn patch_status_hosts(
    api: &Api<Ingress>,
    ing: &Ingress,
    hosts: &[String],
) -> Result<(), kube::Error> {
    let patch = status::status_patch(hosts);
    let params = PatchParams {
        field_manager: Some(FIELD_MANAGER.to_string()),
        ..PatchParams::default()
    };
    api.patch_status(&ing.name_any(), &params, &Patch::Merge(&patch))
        .await?;
    Ok(())
}

fn kube_err(action: &'static str, ing: &Ingress) -> impl FnOnce(kube::Error) -> ReconcileError {
    let target = key_of(ing);
    move |source| ReconcileError::Kube {
        action,
        target,
        source,
    }
}

pub async fn reconcile(ing: Arc<Ingress>, ctx: Arc<Context>) -> Result<Action, ReconcileError> {
    let result = reconcile_inner(&ing, &ctx).await;
    ctx.metrics.reconciled(result.is_ok());
    // Provider errors were counted with the outcome; Kubernetes API failures end here.
    if let Err(e @ ReconcileError::Kube { .. }) = &result {
        ctx.metrics.error(e.reason());
    }
    if result.is_ok() {
        ctx.failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&key_of(&ing));
    }
    result
}

async fn reconcile_inner(ing: &Ingress, ctx: &Context) -> Result<Action, ReconcileError> {
    let cluster = ctx.stores.cluster();
    let namespace = ing.namespace().unwrap_or_default();
    let name = ing.name_any();
    let api: Api<Ingress> = Api::namespaced(ctx.client.clone(), &namespace);
    match lifecycle(ing, &cluster.classes, &ctx.engine.settings.class) {
        Lifecycle::Ignore => {
            ctx.emitted
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&key_of(ing));
            Ok(Action::await_change())
        }
        Lifecycle::Cleanup => {
            let out = ctx.engine.unpublish(&cluster, &namespace, &name).await;
            ctx.count(&out);
            ctx.report(ing, &out.notes).await;
            // Either list failing aborts unpublish before any delete (both providers are
            // loaded first), so all three mean some of the Ingress's rules may still be live.
            let rules_may_remain = out.errors.iter().any(|e| {
                matches!(
                    e,
                    ReconcileError::DeleteRule { .. }
                        | ReconcileError::ListRules(_)
                        | ReconcileError::ListRecords(_)
                )
            });
            if rules_may_remain {
                return match out.errors.into_iter().find(|e| e.is_retryable()) {
                    Some(e) => Err(e),
                    None => Ok(Action::await_change()),
                };
            }
            if ing.metadata.deletion_timestamp.is_none() && !status::hosts_of(ing).is_empty() {
                // Left our class: our hostnames no longer describe it.
                let _t = ctx.metrics.stage("update_status");
                patch_status_hosts(&api, ing, &[])
                    .await
                    .map_err(kube_err("clear status", ing))?;
            }
            remove_finalizer(&api, ing)
                .await
                .map_err(kube_err("remove finalizer", ing))?;
            ctx.emitted
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&key_of(ing));
            tracing::info!(ingress = %key_of(ing), "released");
            Ok(Action::await_change())
        }
        Lifecycle::Publish => {
            let owner = ctx.engine.settings.rules.owner_id.as_str();
            if !has_finalizer(ing) || finalizer_owner(ing) != Some(owner) {
                add_finalizer(&api, ing, owner)
                    .await
                    .map_err(kube_err("add finalizer", ing))?;
            }
            let out = ctx.engine.publish(&cluster, ing).await;
            ctx.count(&out);
            ctx.report(ing, &out.notes).await;
            if status::hosts_of(ing) != out.hosts {
                let _t = ctx.metrics.stage("update_status");
                patch_status_hosts(&api, ing, &out.hosts)
                    .await
                    .map_err(kube_err("update status", ing))?;
            }
            if out.writes > 0 {
                tracing::info!(ingress = %key_of(ing), writes = out.writes, hosts = ?out.hosts, "reconciled");
            }
            match out.errors.into_iter().find(|e| e.is_retryable()) {
                Some(e) => Err(e),
                // Permanent failures were reported; the next change or resync tries again.
                None => Ok(Action::await_change()),
            }
        }
    }
}

/// Backoff for retryable failures: 2 s doubling per consecutive failure, capped at 5 minutes.
pub fn backoff_delay(failures: u32) -> Duration {
    let exp = failures.saturating_sub(1).min(8);
    Duration::from_secs((2u64 << exp).min(300))
}

pub fn error_policy(ing: Arc<Ingress>, err: &ReconcileError, ctx: Arc<Context>) -> Action {
    let n = {
        let mut failures = ctx.failures.lock().unwrap_or_else(|p| p.into_inner());
        let n = failures.entry(key_of(&ing)).or_insert(0);
        *n = n.saturating_add(1);
        *n
    };
    let delay = backoff_delay(n);
    tracing::warn!(ingress = %key_of(&ing), reason = err.reason(), error = %err, retry_in = ?delay, "reconcile failed");
    Action::requeue(delay)
}

/// Ingresses whose backends name this Service.
fn ingresses_for_service(store: &Store<Ingress>, svc: &Service) -> Vec<ObjectRef<Ingress>> {
    let ns = svc.namespace();
    let name = svc.name_any();
    store
        .state()
        .iter()
        .filter(|i| i.namespace() == ns)
        .filter(|i| {
            let Some(spec) = i.spec.as_ref() else {
                return false;
            };
            let default = spec.default_backend.iter();
            let paths = spec
                .rules
                .iter()
                .flatten()
                .flat_map(|r| r.http.iter())
                .flat_map(|h| h.paths.iter().map(|p| &p.backend));
            default
                .chain(paths)
                .any(|b| b.service.as_ref().is_some_and(|s| s.name == name))
        })
        .map(|i| ObjectRef::from_obj(i.as_ref()))
        .collect()
}

fn all_ingresses(store: &Store<Ingress>) -> Vec<ObjectRef<Ingress>> {
    store
        .state()
        .iter()
        .map(|i| ObjectRef::from_obj(i.as_ref()))
        .collect()
}

/// A Node matters only through its usability and addresses: heartbeat updates map to nothing.
#[derive(Default)]
struct NodeFingerprints(Mutex<HashMap<String, NodePrint>>);

/// (usable, typed addresses) of one Node.
type NodePrint = (bool, Vec<(String, Ipv4Addr)>);

impl NodeFingerprints {
    fn changed(&self, node: &Node) -> bool {
        let addresses: Vec<(String, Ipv4Addr)> = node
            .status
            .iter()
            .flat_map(|s| s.addresses.iter().flatten())
            .filter_map(|a| a.address.parse().ok().map(|ip| (a.type_.clone(), ip)))
            .collect();
        let print = (node_is_usable(node), addresses);
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.insert(node.name_any(), print.clone()).as_ref() != Some(&print)
    }

    /// Drops a deleted Node, so the map holds the current Nodes rather than every Node the
    /// cluster ever had.
    fn forget(&self, node: &Node) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(&node.name_any());
    }
}

pub struct Watches {
    pub ingresses: Api<Ingress>,
    pub services: Api<Service>,
    pub nodes: Api<Node>,
    pub classes: Api<IngressClass>,
}

/// Everything [`run`] needs besides the client and the shutdown token.
pub struct RunSetup {
    pub watches: Watches,
    pub engine: Arc<Engine>,
    pub metrics: Arc<Metrics>,
    pub reporter: Reporter,
    /// Period of GC + reconcile-all.
    pub resync: Duration,
    /// Set once the caches are warm and the first GC ran (`/readyz`).
    pub ready: Arc<std::sync::atomic::AtomicBool>,
}

/// Runs the controller until `shutdown` is cancelled. GC runs once the caches are warm and then on
/// every resync tick, followed by a reconcile of every Ingress.
pub async fn run(client: Client, setup: RunSetup, shutdown: CancellationToken) {
    let RunSetup {
        watches,
        engine,
        metrics,
        reporter,
        resync,
        ready,
    } = setup;
    let wc = watcher::Config::default();
    let controller = Controller::new(watches.ingresses, wc.clone());
    let ingress_store = controller.store();

    let (service_store, service_writer) = reflector::store::<Service>();
    let services = watcher(watches.services, wc.clone())
        .default_backoff()
        .reflect(service_writer)
        .touched_objects();
    let (node_store, node_writer) = reflector::store::<Node>();
    let nodes = watcher(watches.nodes, wc.clone())
        .default_backoff()
        .reflect(node_writer);
    let (class_store, class_writer) = reflector::store::<IngressClass>();
    let classes = watcher(watches.classes, wc.clone())
        .default_backoff()
        .reflect(class_writer)
        .touched_objects();

    let stores = Stores {
        ingresses: ingress_store.clone(),
        services: service_store,
        nodes: node_store,
        classes: class_store,
    };
    let ctx = Arc::new(Context::new(
        client,
        engine.clone(),
        metrics.clone(),
        reporter,
        stores.clone(),
    ));

    let fingerprints = Arc::new(NodeFingerprints::default());
    let node_events = node_events(nodes, fingerprints);

    let store_for_services = ingress_store.clone();
    let store_for_nodes = ingress_store.clone();
    let store_for_classes = ingress_store.clone();
    let ticks = resync_ticks(engine, ctx.clone(), stores, resync, ready);

    controller
        .watches_stream(services, move |svc| {
            ingresses_for_service(&store_for_services, &svc)
        })
        .watches_stream(node_events, move |_node: Node| {
            all_ingresses(&store_for_nodes)
        })
        .watches_stream(classes, move |_class| all_ingresses(&store_for_classes))
        .reconcile_all_on(ticks)
        .graceful_shutdown_on(shutdown.cancelled_owned())
        .run(reconcile, error_policy, ctx)
        .for_each(|res| async move {
            if let Err(e) = res {
                tracing::debug!(error = %e, "controller event");
            }
        })
        .await;
}

/// Node watch events reduced to the ones that change the origin addresses.
fn node_events(
    events: impl Stream<Item = Result<watcher::Event<Node>, watcher::Error>> + Send + 'static,
    fingerprints: Arc<NodeFingerprints>,
) -> impl Stream<Item = Result<Node, watcher::Error>> + Send + 'static {
    events.flat_map(move |ev| {
        let fp = fingerprints.clone();
        let out: Vec<Result<Node, watcher::Error>> =
            match ev {
                Err(e) => vec![Err(e)],
                Ok(watcher::Event::Apply(n)) | Ok(watcher::Event::InitApply(n)) => {
                    if fp.changed(&n) { vec![Ok(n)] } else { vec![] }
                }
                Ok(watcher::Event::Delete(n)) => {
                    fp.forget(&n);
                    vec![Ok(n)]
                }
                Ok(_) => vec![],
            };
        futures::stream::iter(out)
    })
}

/// Start-up GC and then one GC + reconcile-all per resync interval.
fn resync_ticks(
    engine: Arc<Engine>,
    ctx: Arc<Context>,
    stores: Stores,
    resync: Duration,
    ready: Arc<std::sync::atomic::AtomicBool>,
) -> impl Stream<Item = ()> + Send + 'static {
    let mut interval = tokio::time::interval(resync);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    futures::stream::unfold((interval, false), move |(mut interval, warmed)| {
        let engine = engine.clone();
        let ctx = ctx.clone();
        let stores = stores.clone();
        let ready = ready.clone();
        async move {
            interval.tick().await;
            tracing::debug!("resync tick");
            if !warmed && !stores.wait_until_ready().await {
                return None;
            }
            tracing::debug!("caches ready, collecting garbage");
            let cluster = stores.cluster();
            let out = engine.collect_garbage(&cluster).await;
            tracing::debug!(
                writes = out.writes,
                errors = out.errors.len(),
                "garbage collection done"
            );
            ctx.count(&out);
            for n in &out.notes {
                if n.warning {
                    tracing::warn!(reason = n.reason, "gc: {}", n.message);
                } else {
                    tracing::info!(reason = n.reason, "gc: {}", n.message);
                }
            }
            ready.store(true, std::sync::atomic::Ordering::Relaxed);
            Some(((), (interval, true)))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_two_seconds_and_caps_at_five_minutes() {
        let got: Vec<u64> = (1..=10).map(|n| backoff_delay(n).as_secs()).collect();
        assert_eq!(got, vec![2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
    }

    #[test]
    fn annotation_keys_are_escaped_as_json_pointers() {
        assert_eq!(
            annotation_path("edgio-ingress.dev/owner"),
            "/metadata/annotations/edgio-ingress.dev~1owner"
        );
        assert_eq!(annotation_path("a~b"), "/metadata/annotations/a~0b");
    }

    #[test]
    fn service_events_map_only_to_ingresses_naming_the_service() {
        let (store, mut writer) = reflector::store::<Ingress>();
        let uses = crate::testing::article_ingress();
        let other = crate::testing::ingress("other")
            .path(
                "x.example.com",
                "/",
                "Prefix",
                "unrelated",
                crate::testing::Port::Name("http"),
            )
            .build();
        let default_backend = crate::testing::ingress("fallback")
            .default_backend("pywai-inline-service", crate::testing::Port::Name("http"))
            .build();
        for i in [&uses, &other, &default_backend] {
            writer.apply_watcher_event(&watcher::Event::Apply(i.clone()));
        }
        let mut got: Vec<String> = ingresses_for_service(&store, &crate::testing::pywai_service())
            .into_iter()
            .map(|r| r.name)
            .collect();
        got.sort();
        assert_eq!(got, vec!["external-pywai-inline-ingress", "fallback"]);
    }

    #[test]
    fn node_heartbeats_do_not_trigger_but_address_and_readiness_changes_do() {
        let fp = NodeFingerprints::default();
        let n = crate::testing::node("n1", &[("InternalIP", "10.0.0.1")]);
        assert!(fp.changed(&n), "first sight");
        assert!(!fp.changed(&n), "same node again (heartbeat)");
        assert!(fp.changed(&crate::testing::not_ready(n.clone())));
        assert!(fp.changed(&crate::testing::node("n1", &[("InternalIP", "10.0.0.2")])));
    }

    #[test]
    fn a_deleted_node_is_forgotten_and_counts_as_new_when_it_returns() {
        let fp = NodeFingerprints::default();
        let n = crate::testing::node("n1", &[("InternalIP", "10.0.0.1")]);
        assert!(fp.changed(&n));
        fp.forget(&n);
        assert_eq!(fp.0.lock().map(|m| m.len()).unwrap_or(usize::MAX), 0);
        assert!(
            fp.changed(&n),
            "same print as before the delete, yet first sight again"
        );
    }
}
