//! What the scenarios need from the tier they run on: the cluster (a kube `Client`), how to reach
//! the providers (mock admin APIs, DNS server, CDN edge, NodePorts), and the few operations that
//! differ per tier (restarting the controller, a second controller, `plan`, controller logs).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;

use crate::mocks::MockAdmin;

/// How the scenarios reach everything. The same values drive the local tier, the container
/// tier and any cluster (`e2e cluster`).
#[derive(Clone)]
pub struct Env {
    pub client: kube::Client,
    pub kubeconfig: PathBuf,
    pub edgio: MockAdmin,
    pub vultr: MockAdmin,
    /// The Vultr mock's DNS server.
    pub dns: SocketAddr,
    /// Base URL of the CDN edge (requests carry `Host: <published host>`).
    pub edge: String,
    pub node_url: NodeUrl,
    /// The controller's OWNER_ID (ownership markers name it).
    pub owner_id: String,
    /// ORIGIN_HOSTNAME, e.g. `origin.example.com`.
    pub origin: String,
    /// DNS_ZONE, e.g. `example.com`.
    pub zone: String,
    /// The controller's NODE_ADDRESS_TYPES, in order.
    pub node_address_types: Vec<String>,
    /// The controller's RESYNC_INTERVAL.
    pub resync: Duration,
    /// Vultr API base (`…/v2`) and key, for records made by hand.
    pub vultr_api: String,
    pub vultr_key: String,
    /// Edgio Config API base (`…/config-api/v1`), user, hex key and shortname, for rules made
    /// or changed by hand.
    pub edgio_api: String,
    pub edgio_user: String,
    pub edgio_key: String,
    pub edgio_shortname: String,
}

/// How to reach a NodePort from where the harness runs: a URL template with `{port}` (any
/// nodePort is reachable), or a fixed URL that only reaches the manifests' nodePort (kind's
/// `extraPortMappings`).
#[derive(Debug, Clone)]
pub struct NodeUrl {
    pub template: String,
    /// The nodePort a fixed URL maps to.
    pub fixed_port: u16,
}

impl NodeUrl {
    pub fn new(template: &str, fixed_port: u16) -> Self {
        Self {
            template: template.trim_end_matches('/').to_owned(),
            fixed_port,
        }
    }

    /// The URL of `path` on `node_port`, or `None` when this tier cannot reach that port.
    pub fn url(&self, node_port: u16, path: &str) -> Option<String> {
        if self.template.contains("{port}") {
            Some(format!(
                "{}{path}",
                self.template.replace("{port}", &node_port.to_string())
            ))
        } else if node_port == self.fixed_port {
            Some(format!("{}{path}", self.template))
        } else {
            None
        }
    }
}

/// A second controller with its own owner id, class and origin name, sharing the Edgio account
/// and the DNS zone with the first.
#[derive(Debug, Clone)]
pub struct SecondController {
    pub owner_id: String,
    pub class: String,
    pub controller_name: String,
    pub origin: String,
}

/// Operations whose mechanics differ per tier. `Ok(false)`/`Ok(None)` means "not possible on this
/// tier": the scenario says so and skips that part instead of failing.
// Used only by this crate's scenarios on one task, so the futures need no `Send` bound.
#[allow(async_fn_in_trait)]
pub trait Platform {
    fn name(&self) -> &'static str;

    /// Called once `kubectl apply -k manifests` succeeded: where the harness plays the cluster,
    /// this is when the controller "rolls out"; on a real cluster, wait for the rollout.
    async fn manifests_applied(&mut self) -> Result<()>;

    /// Kills the controller abruptly (SIGKILL or scale to zero), as a crash would.
    async fn stop_controller(&mut self) -> Result<bool>;

    async fn start_controller(&mut self) -> Result<()>;

    /// The last `lines` of the controller's log.
    async fn controller_log_tail(&mut self, lines: usize) -> String;

    /// Starts a second controller; `Ok(false)` when the tier cannot.
    async fn start_second_controller(&mut self, second: &SecondController) -> Result<bool>;

    async fn stop_second_controller(&mut self) -> Result<()>;

    /// Runs `edgio-ingress plan` against the live providers; returns its output, or `None` when
    /// the tier cannot run it.
    async fn run_plan(&mut self) -> Result<Option<String>>;

    /// Whether Node objects created by the harness count as real nodes (true where the harness
    /// plays kubelet; a real cluster's node controller would mark them NotReady).
    fn fake_nodes_are_real(&self) -> bool;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_template_reaches_every_node_port_and_a_fixed_url_only_its_own() {
        let any = NodeUrl::new("http://10.0.0.5:{port}/", 30080);
        assert_eq!(
            any.url(31000, "/x").as_deref(),
            Some("http://10.0.0.5:31000/x")
        );
        let fixed = NodeUrl::new("http://localhost:30080", 30080);
        assert_eq!(
            fixed.url(30080, "/").as_deref(),
            Some("http://localhost:30080/")
        );
        assert_eq!(fixed.url(30180, "/"), None);
    }
}
