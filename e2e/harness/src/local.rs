//! The local tier: the real binaries as child processes on ephemeral loopback ports — kube-local,
//! vultr-mock (with its DNS server), edgio-mock (with its edge) and the controller — while the
//! harness plays kubelet and kube-proxy: it registers a Node at 127.0.0.1 and runs pywai on every
//! nodePort of a Service that selects the pywai Deployment's pods.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Service;
use kube::api::{Api, ListParams};
use serde_json::Value;
use tokio::process::Command;
use tokio::task::JoinHandle;

use crate::bins;
use crate::k8s;
use crate::mocks::MockAdmin;
use crate::platform::{Env, NodeUrl, Platform, SecondController};
use crate::procs::{self, Proc};
use crate::report;

pub const EDGIO_USER: &str = "demo";
pub const EDGIO_KEY: &str = "00112233445566778899aabbccddeeff";
pub const EDGIO_SHORTNAME: &str = "demo";
pub const VULTR_KEY: &str = "demo-vultr-key";
pub const ZONE: &str = "example.com";
pub const ORIGIN: &str = "origin.example.com";
pub const OWNER_ID: &str = "e2e-local";
pub const NODE_NAME: &str = "e2e-local-node";
/// Short so the steady-state checks see several resyncs quickly.
pub const RESYNC: Duration = Duration::from_secs(4);
const STARTUP: Duration = Duration::from_secs(30);

/// Where a tier's controller finds the cluster and the mocks, and who it is.
pub struct ControllerSettings<'a> {
    pub kubeconfig: &'a str,
    /// `http://host:port` of the Edgio mock's API listener.
    pub edgio_base: &'a str,
    /// `http://host:port` of the Vultr mock's API listener.
    pub vultr_base: &'a str,
    pub owner_id: &'a str,
    pub http_addr: &'a str,
    pub pod_name: &'a str,
}

/// The controller's environment on the local and container tiers: the demo credentials, a short
/// resync, InternalIP node addresses (the registered Node has only that) and no leader election
/// (one process).
pub fn controller_env(s: ControllerSettings<'_>) -> BTreeMap<String, String> {
    [
        ("KUBECONFIG", s.kubeconfig.to_owned()),
        ("INGRESS_CLASS", k8s::CLASS.to_owned()),
        ("CONTROLLER_NAME", k8s::CONTROLLER_NAME.to_owned()),
        ("WATCH_NAMESPACES", String::new()),
        ("OWNER_ID", s.owner_id.to_owned()),
        ("ORIGIN_HOSTNAME", ORIGIN.to_owned()),
        ("DNS_ZONE", ZONE.to_owned()),
        ("NODE_ADDRESS_TYPES", "InternalIP".to_owned()),
        ("RESYNC_INTERVAL", format!("{}s", RESYNC.as_secs())),
        ("EDGIO_BASE_URL", format!("{}/config-api/v1", s.edgio_base)),
        ("EDGIO_SHORTNAME", EDGIO_SHORTNAME.to_owned()),
        ("EDGIO_USERNAME", EDGIO_USER.to_owned()),
        ("EDGIO_SHARED_KEY", EDGIO_KEY.to_owned()),
        ("VULTR_BASE_URL", format!("{}/v2", s.vultr_base)),
        ("VULTR_API_KEY", VULTR_KEY.to_owned()),
        ("HTTP_ADDR", s.http_addr.to_owned()),
        ("LEADER_ELECT", "false".to_owned()),
        ("POD_NAMESPACE", "edgio-ingress-system".to_owned()),
        ("POD_NAME", s.pod_name.to_owned()),
        ("LOG_FORMAT", "json".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// The Node's address: 127.0.0.1, or `E2E_NODE_IP` (another loopback address such as 127.0.0.7)
/// so that two runs on one machine do not both need 127.0.0.1:30080.
fn node_ip() -> Result<Ipv4Addr> {
    match std::env::var("E2E_NODE_IP") {
        Ok(v) if !v.is_empty() => {
            let ip: Ipv4Addr = v
                .parse()
                .with_context(|| format!("E2E_NODE_IP={v} is not an IPv4 address"))?;
            if !ip.is_loopback() {
                bail!(
                    "E2E_NODE_IP={ip} is not a loopback address (the local tier stays on loopback)"
                );
            }
            Ok(ip)
        }
        _ => Ok(Ipv4Addr::LOCALHOST),
    }
}

/// Everything the local tier started. Dropping it kills every process.
pub struct LocalTier {
    pub dir: PathBuf,
    pub env: Env,
    kube: Proc,
    edgio: Proc,
    vultr: Proc,
    controller: Option<Proc>,
    second: Option<Proc>,
    kubelet: JoinHandle<()>,
    controller_env: BTreeMap<String, String>,
    restarts: usize,
}

impl Drop for LocalTier {
    fn drop(&mut self) {
        // The pywai processes live in the kubelet task; aborting it drops (kills) them.
        self.kubelet.abort();
    }
}

impl LocalTier {
    /// Starts every process and registers the Node. The controller starts once the manifests
    /// are applied (as its Deployment would roll out); see [`Platform::manifests_applied`].
    pub async fn start(dir: &Path) -> Result<LocalTier> {
        report::say(&format!("local tier: run directory {}", dir.display()));
        let kubeconfig = dir.join("kubeconfig");

        let mut cmd = Command::new(bins::binary("kube-local").map_err(anyhow::Error::msg)?);
        cmd.arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--kubeconfig")
            .arg(&kubeconfig);
        let mut kube = Proc::spawn("kube-local", cmd, dir).await?;
        let api = kube
            .announcement(STARTUP, |v| procs::string_field(v, &["listening"]))
            .await?;
        report::ok(&format!(
            "kube-local serving {api}, kubeconfig {}",
            kubeconfig.display()
        ));

        let mut cmd = Command::new(bins::binary("vultr-mock").map_err(anyhow::Error::msg)?);
        cmd.args(["--listen", "127.0.0.1:0", "--dns-listen", "127.0.0.1:0"])
            .args(["--domain", ZONE, "--api-key", VULTR_KEY]);
        let mut vultr = Proc::spawn("vultr-mock", cmd, dir).await?;
        let (vultr_api, dns) = vultr
            .announcement(STARTUP, |v| {
                let dns = find_addr(v, &|k| k.contains("dns"))?;
                let api = find_addr(v, &|k| {
                    !k.contains("dns")
                        && (k.contains("listen") || k.contains("api") || k.contains("http"))
                })?;
                Some((api, dns))
            })
            .await?;
        report::ok(&format!(
            "vultr-mock API http://{vultr_api}, DNS {dns} (udp+tcp)"
        ));

        let mut cmd = Command::new(bins::binary("edgio-mock").map_err(anyhow::Error::msg)?);
        cmd.args(["--listen", "127.0.0.1:0", "--edge-listen", "127.0.0.1:0"])
            .arg("--user")
            .arg(format!("{EDGIO_USER}:{EDGIO_KEY}:{EDGIO_SHORTNAME}"))
            .arg("--dns-server")
            .arg(dns.to_string());
        let mut edgio = Proc::spawn("edgio-mock", cmd, dir).await?;
        let (edgio_api, edge) = edgio
            .announcement(STARTUP, |v| {
                let edge = find_addr(v, &|k| k.contains("edge"))?;
                let api = find_addr(v, &|k| {
                    !k.contains("edge")
                        && !k.contains("dns")
                        && (k.contains("listen") || k.contains("api") || k.contains("http"))
                })?;
                Some((api, edge))
            })
            .await?;
        report::ok(&format!(
            "edgio-mock API http://{edgio_api}, CDN edge http://{edge}"
        ));

        let client = k8s::client(&kubeconfig).await?;
        let node_ip = node_ip()?;
        k8s::register_node(&client, NODE_NAME, IpAddr::V4(node_ip)).await?;
        report::ok(&format!(
            "registered Node {NODE_NAME} (InternalIP {node_ip}, Ready)"
        ));
        let kubelet = tokio::spawn(kubelet(client.clone(), dir.to_path_buf(), node_ip));
        report::ok(&format!(
            "playing kubelet/kube-proxy: pywai runs on {node_ip}:<nodePort> of the pywai Service"
        ));

        let edgio_base = format!("http://{edgio_api}");
        let vultr_base = format!("http://{vultr_api}");
        let controller_env = controller_env(ControllerSettings {
            kubeconfig: &kubeconfig.to_string_lossy(),
            edgio_base: &edgio_base,
            vultr_base: &vultr_base,
            owner_id: OWNER_ID,
            http_addr: "127.0.0.1:0",
            pod_name: "edgio-ingress-local",
        });

        let env = Env {
            client,
            kubeconfig,
            edgio: MockAdmin::new("edgio-mock", &edgio_base),
            vultr: MockAdmin::new("vultr-mock", &vultr_base),
            dns,
            edge: format!("http://{edge}"),
            node_url: NodeUrl::new(&format!("http://{node_ip}:{{port}}"), k8s::NODE_PORT),
            owner_id: OWNER_ID.to_owned(),
            origin: ORIGIN.to_owned(),
            zone: ZONE.to_owned(),
            node_address_types: vec!["InternalIP".to_owned()],
            resync: RESYNC,
            vultr_api: format!("{vultr_base}/v2"),
            vultr_key: VULTR_KEY.to_owned(),
            edgio_api: format!("{edgio_base}/config-api/v1"),
            edgio_user: EDGIO_USER.to_owned(),
            edgio_key: EDGIO_KEY.to_owned(),
            edgio_shortname: EDGIO_SHORTNAME.to_owned(),
        };
        Ok(LocalTier {
            dir: dir.to_path_buf(),
            env,
            kube,
            edgio,
            vultr,
            controller: None,
            second: None,
            kubelet,
            controller_env,
            restarts: 0,
        })
    }

    fn controller_command(&self, env: &BTreeMap<String, String>, args: &[&str]) -> Result<Command> {
        let mut cmd = Command::new(bins::binary("edgio-ingress").map_err(anyhow::Error::msg)?);
        cmd.args(args).env_clear().envs(env);
        for keep in ["PATH", "HOME", "RUST_LOG", "RUST_BACKTRACE"] {
            if let Ok(v) = std::env::var(keep) {
                cmd.env(keep, v);
            }
        }
        Ok(cmd)
    }

    async fn spawn_controller(&mut self) -> Result<()> {
        let cmd = self.controller_command(&self.controller_env, &["run"])?;
        let proc = Proc::spawn("edgio-ingress", cmd, &self.dir).await?;
        report::ok(&format!(
            "started edgio-ingress run (pid {}), log {}",
            proc.pid().unwrap_or(0),
            proc.log.display()
        ));
        self.controller = Some(proc);
        Ok(())
    }

    /// A process that died on its own is a finding, not something to hide.
    pub fn check_alive(&mut self) -> Result<()> {
        for p in [&mut self.kube, &mut self.edgio, &mut self.vultr] {
            if let Some(status) = p.exited() {
                bail!("{} exited ({status}); log {}", p.name, p.log.display());
            }
        }
        if let Some(c) = self.controller.as_mut()
            && let Some(status) = c.exited()
        {
            bail!(
                "edgio-ingress exited ({status}); log tail:\n{}",
                procs::tail(&c.log, 20)
            );
        }
        Ok(())
    }

    /// Stops everything (controllers first, so they do not see the API server vanish).
    pub async fn shutdown(mut self) {
        if let Some(mut c) = self.second.take() {
            c.stop(Duration::from_secs(5)).await;
        }
        if let Some(mut c) = self.controller.take() {
            c.stop(Duration::from_secs(5)).await;
        }
        self.kubelet.abort();
        let _ = (&mut self.kubelet).await;
        for p in [&mut self.edgio, &mut self.vultr, &mut self.kube] {
            p.kill().await;
        }
    }

    pub fn kubeconfig(&self) -> &Path {
        &self.env.kubeconfig
    }
}

impl Platform for LocalTier {
    fn name(&self) -> &'static str {
        "local"
    }

    async fn manifests_applied(&mut self) -> Result<()> {
        if self.controller.is_none() {
            self.spawn_controller().await?;
        }
        Ok(())
    }

    async fn stop_controller(&mut self) -> Result<bool> {
        if let Some(mut c) = self.controller.take() {
            c.kill().await;
        }
        Ok(true)
    }

    async fn start_controller(&mut self) -> Result<()> {
        self.restarts += 1;
        self.spawn_controller().await
    }

    async fn controller_log_tail(&mut self, lines: usize) -> String {
        let log = self.dir.join("edgio-ingress.log");
        let mut text = procs::tail(&log, lines);
        if let Some(c) = self.controller.as_mut()
            && let Some(status) = c.exited()
        {
            text.push_str(&format!("\n(the controller exited: {status})"));
        }
        text
    }

    async fn start_second_controller(&mut self, second: &SecondController) -> Result<bool> {
        let mut env = self.controller_env.clone();
        env.insert("OWNER_ID".into(), second.owner_id.clone());
        env.insert("INGRESS_CLASS".into(), second.class.clone());
        env.insert("CONTROLLER_NAME".into(), second.controller_name.clone());
        env.insert("ORIGIN_HOSTNAME".into(), second.origin.clone());
        env.insert("POD_NAME".into(), "edgio-ingress-second".into());
        let cmd = self.controller_command(&env, &["run"])?;
        self.second = Some(Proc::spawn("edgio-ingress-second", cmd, &self.dir).await?);
        Ok(true)
    }

    async fn stop_second_controller(&mut self) -> Result<()> {
        if let Some(mut c) = self.second.take() {
            c.stop(Duration::from_secs(5)).await;
        }
        Ok(())
    }

    async fn run_plan(&mut self) -> Result<Option<String>> {
        let mut cmd = self.controller_command(&self.controller_env, &["plan"])?;
        cmd.kill_on_drop(true);
        let out = tokio::time::timeout(Duration::from_secs(60), cmd.output())
            .await
            .context("edgio-ingress plan did not finish within 60s")?
            .context("running edgio-ingress plan")?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if !out.status.success() {
            bail!("edgio-ingress plan failed ({}):\n{text}", out.status);
        }
        Ok(Some(text))
    }

    fn fake_nodes_are_real(&self) -> bool {
        true
    }
}

/// Finds the first socket address among a start-up line's string fields whose key passes `key`
/// (values like `127.0.0.1:5353`, `http://127.0.0.1:8081` or `udp://…` all parse).
pub fn find_addr(v: &Value, key: &dyn Fn(&str) -> bool) -> Option<SocketAddr> {
    match v {
        Value::Object(map) => {
            for (k, val) in map {
                let k = k.to_ascii_lowercase();
                if key(&k)
                    && let Some(s) = val.as_str()
                    && let Some(addr) = parse_any_addr(s)
                {
                    return Some(addr);
                }
            }
            map.iter().find_map(|(k, val)| {
                let k = k.to_ascii_lowercase();
                match val {
                    Value::Object(_) if key(&k) => find_addr(val, &|_| true),
                    Value::Object(_) => find_addr(val, key),
                    _ => None,
                }
            })
        }
        _ => None,
    }
}

fn parse_any_addr(s: &str) -> Option<SocketAddr> {
    let rest = s.split("://").nth(1).unwrap_or(s);
    let hostport = rest.split('/').next().unwrap_or(rest);
    hostport.parse().ok()
}

/// Plays kubelet and kube-proxy for the pywai Deployment: one pywai process per nodePort of every
/// NodePort Service whose selector matches the Deployment's pod labels, restarted on the new port
/// when a nodePort changes. Runs until aborted; dropping it kills the processes.
async fn kubelet(client: kube::Client, dir: PathBuf, node_ip: Ipv4Addr) {
    let mut running: BTreeMap<u16, Proc> = BTreeMap::new();
    let mut failed_once: BTreeSet<u16> = BTreeSet::new();
    loop {
        match wanted_ports(&client).await {
            Ok(wanted) => {
                running.retain(|port, _| wanted.contains(port));
                for port in wanted {
                    if let Some(p) = running.get_mut(&port)
                        && p.exited().is_none()
                    {
                        continue;
                    }
                    if let Some(p) = running.get_mut(&port)
                        && let Some(status) = p.exited()
                        && failed_once.insert(port)
                    {
                        // Usually "address in use": another run holds this nodePort.
                        report::note(&format!(
                            "kubelet: pywai on {node_ip}:{port} exited ({status}): {}",
                            procs::tail(&p.log, 3)
                        ));
                    }
                    match spawn_pywai(node_ip, port, &dir).await {
                        Ok(p) => {
                            running.insert(port, p);
                        }
                        Err(e) => {
                            if failed_once.insert(port) {
                                report::note(&format!("kubelet: pywai on port {port}: {e:#}"));
                            }
                        }
                    }
                }
            }
            Err(e) => tracing::debug!("kubelet: listing failed: {e:#}"),
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

async fn spawn_pywai(ip: Ipv4Addr, port: u16, dir: &Path) -> Result<Proc> {
    let mut cmd = Command::new(bins::binary("pywai").map_err(anyhow::Error::msg)?);
    cmd.arg("--listen").arg(format!("{ip}:{port}"));
    Proc::spawn(&format!("pywai-{port}"), cmd, dir).await
}

/// The nodePorts on which the pywai Deployment's pods must be reachable.
pub async fn wanted_ports(client: &kube::Client) -> Result<BTreeSet<u16>> {
    let deployments: Api<Deployment> = Api::all(client.clone());
    let mut pod_labels: Vec<BTreeMap<String, String>> = Vec::new();
    for d in deployments.list(&ListParams::default()).await?.items {
        let Some(spec) = d.spec else { continue };
        let runs_pywai = spec.template.spec.as_ref().is_some_and(|p| {
            p.containers
                .iter()
                .any(|c| c.image.as_deref().unwrap_or_default().contains("pywai"))
        });
        if runs_pywai && spec.replicas.unwrap_or(1) > 0 {
            pod_labels.push(
                spec.template
                    .metadata
                    .and_then(|m| m.labels)
                    .unwrap_or_default(),
            );
        }
    }
    let services: Api<Service> = Api::all(client.clone());
    let mut ports = BTreeSet::new();
    for s in services.list(&ListParams::default()).await?.items {
        let Some(spec) = s.spec else { continue };
        if !matches!(spec.type_.as_deref(), Some("NodePort" | "LoadBalancer")) {
            continue;
        }
        let selector = spec.selector.unwrap_or_default();
        if selector.is_empty()
            || !pod_labels
                .iter()
                .any(|l| selector.iter().all(|(k, v)| l.get(k) == Some(v)))
        {
            continue;
        }
        for p in spec.ports.unwrap_or_default() {
            if let Some(np) = p.node_port.and_then(|n| u16::try_from(n).ok()) {
                ports.insert(np);
            }
        }
    }
    Ok(ports)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mocks_startup_lines_yield_their_api_dns_and_edge_addresses() {
        let vultr = serde_json::json!({"api": "http://127.0.0.1:4000", "dns": "127.0.0.1:5300"});
        assert_eq!(
            find_addr(&vultr, &|k| k.contains("dns")),
            Some("127.0.0.1:5300".parse().unwrap())
        );
        assert_eq!(
            find_addr(&vultr, &|k| k.contains("api")),
            Some("127.0.0.1:4000".parse().unwrap())
        );
        let edgio =
            serde_json::json!({"api": "http://127.0.0.1:4001", "edge": "http://127.0.0.1:4002/"});
        assert_eq!(
            find_addr(&edgio, &|k| k.contains("edge")),
            Some("127.0.0.1:4002".parse().unwrap())
        );
        assert_eq!(find_addr(&edgio, &|k| k.contains("dns")), None);
    }

    #[test]
    fn nested_startup_fields_are_found_and_non_addresses_ignored() {
        let v = serde_json::json!({"listening": {"dns": "not an address", "udp": "127.0.0.1:53"}});
        assert_eq!(
            find_addr(&v, &|k| k.contains("listening")),
            Some("127.0.0.1:53".parse().unwrap())
        );
    }
}
