//! Kubernetes helpers for the scenarios: a client from a kubeconfig, `kubectl`, Nodes (the
//! harness plays kubelet), Ingress/Service builders and the Events recorded on an object.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::Path;

use anyhow::{Context, Result, bail};
use k8s_openapi::api::core::v1::{Node, Service};
use k8s_openapi::api::networking::v1::Ingress;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::{Value, json};

pub const FINALIZER: &str = "edgio-ingress.dev/cleanup";
pub const CLASS: &str = "edgio";
pub const CONTROLLER_NAME: &str = "edgio-ingress.dev/controller";
pub const NAMESPACE: &str = "default";
pub const INGRESS: &str = "external-pywai-inline-ingress";
pub const SERVICE: &str = "pywai-inline-service";
pub const DEPLOYMENT: &str = "pywai-inline-deployment";
pub const PUBLISHED_HOST: &str = "demo.s.llnwi.net";
pub const PATH: &str = "/fred";
pub const NODE_PORT: u16 = 30080;

/// A client for the cluster a kubeconfig names.
pub async fn client(kubeconfig: &Path) -> Result<kube::Client> {
    let kc = Kubeconfig::read_from(kubeconfig)
        .with_context(|| format!("reading kubeconfig {}", kubeconfig.display()))?;
    let config = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .context("kubeconfig")?;
    kube::Client::try_from(config).context("kube client")
}

/// Runs `kubectl --kubeconfig <kc> <args>`; returns stdout, fails with stderr.
pub async fn kubectl(kubeconfig: &Path, args: &[&str]) -> Result<String> {
    let out = tokio::process::Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .kill_on_drop(true)
        .output()
        .await
        .context("running kubectl (is it installed?)")?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        bail!(
            "kubectl {} failed ({}): {}{}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr),
            stdout
        );
    }
    Ok(stdout)
}

/// Registers (or refreshes) a Ready, schedulable Node with one InternalIP, as a kubelet would.
pub async fn register_node(client: &kube::Client, name: &str, ip: IpAddr) -> Result<()> {
    let nodes: Api<Node> = Api::all(client.clone());
    if nodes.get_opt(name).await?.is_none() {
        let node: Node = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {
                "kubernetes.io/hostname": name, "kubernetes.io/os": "linux"}},
            "spec": {}
        }))?;
        nodes
            .create(&PostParams::default(), &node)
            .await
            .with_context(|| format!("create node {name}"))?;
    }
    set_node_status(client, name, ip, true).await
}

/// Writes a Node's status (address and Ready condition), as a kubelet's heartbeat would.
pub async fn set_node_status(
    client: &kube::Client,
    name: &str,
    ip: IpAddr,
    ready: bool,
) -> Result<()> {
    let nodes: Api<Node> = Api::all(client.clone());
    let now = k8s_openapi::jiff::Timestamp::now().to_string();
    let status = json!({"status": {
        "addresses": [
            {"type": "InternalIP", "address": ip.to_string()},
            {"type": "Hostname", "address": name}],
        "conditions": [{
            "type": "Ready", "status": if ready {"True"} else {"False"},
            "reason": if ready {"KubeletReady"} else {"KubeletNotReady"},
            "message": "e2e harness plays kubelet",
            "lastHeartbeatTime": now, "lastTransitionTime": now}],
        "nodeInfo": {"kubeletVersion": "v1.33.0-e2e", "architecture": "amd64",
            "operatingSystem": "linux", "bootID": "", "containerRuntimeVersion": "e2e://0",
            "kernelVersion": "", "kubeProxyVersion": "", "machineID": "", "osImage": "e2e", "systemUUID": ""}
    }});
    nodes
        .patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
        .await
        .with_context(|| format!("patch status of node {name}"))?;
    Ok(())
}

pub async fn delete_node(client: &kube::Client, name: &str) -> Result<()> {
    let nodes: Api<Node> = Api::all(client.clone());
    match nodes.delete(name, &DeleteParams::default()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        Err(e) => Err(e).with_context(|| format!("delete node {name}")),
    }
}

/// Addresses the controller should publish: for each Ready, schedulable Node, its IPv4 addresses
/// of the first type in `types` it has (the controller's NODE_ADDRESS_TYPES semantics).
pub async fn ready_node_ips(
    client: &kube::Client,
    types: &[String],
) -> Result<BTreeSet<std::net::Ipv4Addr>> {
    let nodes: Api<Node> = Api::all(client.clone());
    let mut ips = BTreeSet::new();
    for node in nodes.list(&ListParams::default()).await?.items {
        let unschedulable = node
            .spec
            .as_ref()
            .and_then(|s| s.unschedulable)
            .unwrap_or(false);
        let status = node.status.unwrap_or_default();
        let ready = status
            .conditions
            .unwrap_or_default()
            .iter()
            .any(|c| c.type_ == "Ready" && c.status == "True");
        if !ready || unschedulable {
            continue;
        }
        let addresses = status.addresses.unwrap_or_default();
        for t in types {
            let of_type: Vec<std::net::Ipv4Addr> = addresses
                .iter()
                .filter(|a| &a.type_ == t)
                .filter_map(|a| a.address.parse().ok())
                .collect();
            if !of_type.is_empty() {
                ips.extend(of_type);
                break;
            }
        }
    }
    Ok(ips)
}

pub fn ingresses(client: &kube::Client, ns: &str) -> Api<Ingress> {
    Api::namespaced(client.clone(), ns)
}

pub fn services(client: &kube::Client, ns: &str) -> Api<Service> {
    Api::namespaced(client.clone(), ns)
}

/// One HTTP path of a test Ingress: (path, service, port name or number).
pub type PathSpec<'a> = (&'a str, &'a str, &'a str);

/// An Ingress of our class. `rules` is `[(host or "", [paths])]`; a port that parses as a number
/// is a port number, else a port name.
pub fn ingress(name: &str, rules: &[(&str, &[PathSpec<'_>])]) -> Result<Ingress> {
    let rules: Vec<Value> = rules
        .iter()
        .map(|(host, paths)| {
            let paths: Vec<Value> = paths.iter().map(|(p, s, port)| path(p, s, port)).collect();
            let mut rule = json!({"http": {"paths": paths}});
            if !host.is_empty() {
                rule["host"] = json!(host);
            }
            rule
        })
        .collect();
    Ok(serde_json::from_value(json!({
        "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": {"e2e": "true"}},
        "spec": {"ingressClassName": CLASS, "rules": rules}
    }))?)
}

/// One HTTP path of an Ingress rule (pathType Prefix).
pub fn path(p: &str, service: &str, port: &str) -> Value {
    let port = match port.parse::<u16>() {
        Ok(n) => json!({"number": n}),
        Err(_) => json!({"name": port}),
    };
    json!({"path": p, "pathType": "Prefix",
        "backend": {"service": {"name": service, "port": port}}})
}

/// Creates an Ingress. A leftover of the same name (an earlier run on the same cluster that was
/// interrupted) is deleted first — through the controller, so its rules go too — and waited for.
pub async fn create_ingress(client: &kube::Client, ing: &Ingress) -> Result<()> {
    let api = ingresses(client, NAMESPACE);
    let name = ing.metadata.name.clone().unwrap_or_default();
    if api.get_opt(&name).await?.is_some() {
        delete_ingress(client, &name).await?;
        crate::wait::until(
            &format!("leftover Ingress {name} to be gone"),
            std::time::Duration::from_secs(60),
            || async {
                match api.get_opt(&name).await {
                    Ok(None) => Ok(()),
                    Ok(Some(_)) => Err("still there".to_owned()),
                    Err(e) => Err(e.to_string()),
                }
            },
        )
        .await?;
    }
    api.create(&PostParams::default(), ing)
        .await
        .with_context(|| format!("create ingress {name}"))?;
    Ok(())
}

/// Deletes an Ingress (404 counts as deleted).
pub async fn delete_ingress(client: &kube::Client, name: &str) -> Result<()> {
    match ingresses(client, NAMESPACE)
        .delete(name, &DeleteParams::default())
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        Err(e) => Err(e).with_context(|| format!("delete ingress {name}")),
    }
}

/// Removes every finalizer of an Ingress (what an impatient human does by hand).
pub async fn strip_finalizers(client: &kube::Client, name: &str) -> Result<()> {
    let patch = json!({"metadata": {"finalizers": null}});
    match ingresses(client, NAMESPACE)
        .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        Err(e) => Err(e).with_context(|| format!("strip finalizers of {name}")),
    }
}

/// Merge-patches an object's spec (`spec.rules`, `spec.ports`: arrays are replaced whole).
pub async fn patch_ingress_spec(client: &kube::Client, name: &str, spec: Value) -> Result<()> {
    ingresses(client, NAMESPACE)
        .patch(
            name,
            &PatchParams::default(),
            &Patch::Merge(&json!({"spec": spec})),
        )
        .await
        .with_context(|| format!("patch ingress {name}"))?;
    Ok(())
}

pub async fn patch_service_spec(client: &kube::Client, name: &str, spec: Value) -> Result<()> {
    services(client, NAMESPACE)
        .patch(
            name,
            &PatchParams::default(),
            &Patch::Merge(&json!({"spec": spec})),
        )
        .await
        .with_context(|| format!("patch service {name}"))?;
    Ok(())
}

/// The nodePort of a Service port, by port name.
pub async fn node_port(client: &kube::Client, service: &str, port_name: &str) -> Result<u16> {
    let svc = services(client, NAMESPACE)
        .get(service)
        .await
        .with_context(|| format!("get service {service}"))?;
    let ports = svc.spec.and_then(|s| s.ports).unwrap_or_default();
    let port = ports
        .iter()
        .find(|p| p.name.as_deref() == Some(port_name))
        .with_context(|| format!("service {service} has no port named {port_name}"))?;
    let np = port
        .node_port
        .with_context(|| format!("service {service} port {port_name} has no nodePort"))?;
    u16::try_from(np).with_context(|| format!("nodePort {np} out of range"))
}

/// One Event about an object, from either Events API.
#[derive(Debug, Clone)]
pub struct EventView {
    pub kind: String,
    pub reason: String,
    pub note: String,
    pub object: String,
}

impl std::fmt::Display for EventView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} {}: {}",
            self.kind, self.object, self.reason, self.note
        )
    }
}

/// The Events recorded about `kind/name` in `ns`, from core/v1 and events.k8s.io/v1 (recorders
/// write one or the other).
pub async fn events_for(
    client: &kube::Client,
    ns: &str,
    kind: &str,
    name: &str,
) -> Result<Vec<EventView>> {
    use k8s_openapi::api::core::v1::Event as CoreEvent;
    use k8s_openapi::api::events::v1::Event as NewEvent;
    let mut out = Vec::new();
    // Both APIs serve the same stored Events; count each once (by uid).
    let mut seen = BTreeSet::new();
    let core: Api<CoreEvent> = Api::namespaced(client.clone(), ns);
    for e in core.list(&ListParams::default()).await?.items {
        if !seen.insert(e.metadata.uid.clone().unwrap_or_default()) && e.metadata.uid.is_some() {
            continue;
        }
        if e.involved_object.kind.as_deref() == Some(kind)
            && e.involved_object.name.as_deref() == Some(name)
        {
            out.push(EventView {
                kind: e.type_.unwrap_or_default(),
                reason: e.reason.unwrap_or_default(),
                note: e.message.unwrap_or_default(),
                object: format!("{kind}/{name}"),
            });
        }
    }
    let new: Api<NewEvent> = Api::namespaced(client.clone(), ns);
    // An API server without events.k8s.io is fine: core events are then the only source.
    if let Ok(list) = new.list(&ListParams::default()).await {
        for e in list.items {
            if e.metadata.uid.is_some() && !seen.insert(e.metadata.uid.clone().unwrap_or_default())
            {
                continue;
            }
            let regarding = e.regarding.as_ref();
            if regarding.and_then(|r| r.kind.as_deref()) == Some(kind)
                && regarding.and_then(|r| r.name.as_deref()) == Some(name)
            {
                out.push(EventView {
                    kind: e.type_.unwrap_or_default(),
                    reason: e.reason.unwrap_or_default(),
                    note: e.note.unwrap_or_default(),
                    object: format!("{kind}/{name}"),
                });
            }
        }
    }
    Ok(out)
}

/// The published hostnames in an Ingress's status.
pub fn status_hosts(ing: &Ingress) -> BTreeSet<String> {
    ing.status
        .as_ref()
        .and_then(|s| s.load_balancer.as_ref())
        .and_then(|lb| lb.ingress.as_ref())
        .map(|list| list.iter().filter_map(|i| i.hostname.clone()).collect())
        .unwrap_or_default()
}

pub fn has_finalizer(ing: &Ingress) -> bool {
    ing.metadata
        .finalizers
        .as_ref()
        .is_some_and(|f| f.iter().any(|x| x == FINALIZER))
}
