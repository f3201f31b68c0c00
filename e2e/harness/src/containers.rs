//! The container tier: our images (`edgio-ingress/*:dev`, FROM scratch) started with the docker
//! CLI on a private Docker network, each at its own address — kube-local, vultr-mock (DNS),
//! edgio-mock (edge), the controller, and a "node" container whose address is the Node's
//! InternalIP. The harness plays kubelet/kube-proxy by running a pywai container in the node's
//! network namespace for every nodePort of the pywai Service. Everything carries a run label and
//! is removed on exit, also when the harness is interrupted (see `Drop`).

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tokio::task::JoinHandle;

use crate::k8s;
use crate::local::{self, EDGIO_KEY, EDGIO_SHORTNAME, EDGIO_USER, ORIGIN, RESYNC, VULTR_KEY, ZONE};
use crate::mocks::MockAdmin;
use crate::platform::{Env, NodeUrl, Platform, SecondController};
use crate::report;
use crate::wait;

pub const OWNER_ID: &str = "e2e-containers";
const LABEL: &str = "edgio-ingress.e2e.run";
const IMAGE_PREFIX: &str = "edgio-ingress";
const KUBECONFIG_IN_CONTAINER: &str = "/etc/e2e/kubeconfig";

/// Why the container tier cannot run here, or `None` when a Docker daemon answers.
pub async fn docker_unavailable() -> Option<String> {
    match tokio::process::Command::new("docker")
        .arg("info")
        .output()
        .await
    {
        Err(e) => Some(format!("docker CLI not runnable ({e})")),
        Ok(out) if !out.status.success() => Some(format!(
            "no Docker daemon answers (`docker info` failed: {})",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
                .trim()
        )),
        Ok(_) => None,
    }
}

/// Runs `docker <args>`; returns trimmed stdout.
pub async fn docker(args: &[&str]) -> Result<String> {
    let out = tokio::process::Command::new("docker")
        .args(args)
        .kill_on_drop(true)
        .output()
        .await
        .context("running docker")?;
    if !out.status.success() {
        bail!(
            "docker {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

pub struct ContainerTier {
    pub env: Env,
    dir: PathBuf,
    run_id: String,
    network: String,
    controller: Option<String>,
    second: Option<String>,
    controller_env: BTreeMap<String, String>,
    kubelet: JoinHandle<()>,
}

impl Drop for ContainerTier {
    fn drop(&mut self) {
        self.kubelet.abort();
        remove_all_sync(&self.run_id, &self.network);
    }
}

/// Synchronous cleanup (usable from `Drop`): every container with our run label, then the
/// network. Idempotent.
fn remove_all_sync(run_id: &str, network: &str) {
    let filter = format!("label={LABEL}={run_id}");
    if let Ok(out) = std::process::Command::new("docker")
        .args(["ps", "-aq", "--filter", &filter])
        .output()
    {
        let ids: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        if !ids.is_empty() {
            let _ = std::process::Command::new("docker")
                .args(["rm", "-f", "-v"])
                .args(&ids)
                .output();
        }
    }
    let _ = std::process::Command::new("docker")
        .args(["network", "rm", network])
        .output();
}

fn image(name: &str) -> String {
    format!("{IMAGE_PREFIX}/{name}:dev")
}

impl ContainerTier {
    pub async fn start(dir: &Path) -> Result<ContainerTier> {
        for name in [
            "pywai",
            "controller",
            "edgio-mock",
            "vultr-mock",
            "kube-local",
        ] {
            docker(&["image", "inspect", "--format", "{{.Id}}", &image(name)])
                .await
                .with_context(|| {
                    format!(
                        "image {} is missing: run e2e/scripts/build-images.sh debug",
                        image(name)
                    )
                })?;
        }
        let run_id =
            std::env::var("E2E_RUN_ID").unwrap_or_else(|_| format!("{}", std::process::id()));
        let network = format!("e2e-{run_id}");
        docker(&[
            "network",
            "create",
            "--label",
            &format!("{LABEL}={run_id}"),
            &network,
        ])
        .await?;
        // From here on, Drop removes what was made, whatever fails next.
        let mut tier = ContainerTier {
            env: placeholder_env(dir)?,
            dir: dir.to_path_buf(),
            run_id: run_id.clone(),
            network: network.clone(),
            controller: None,
            second: None,
            controller_env: BTreeMap::new(),
            kubelet: tokio::spawn(async {}),
        };
        report::ok(&format!("docker network {network}"));

        let vultr_ip = tier
            .run_container(
                "vultr-mock",
                &[],
                &image("vultr-mock"),
                &[
                    "--listen",
                    "0.0.0.0:8090",
                    "--dns-listen",
                    "0.0.0.0:5353",
                    "--domain",
                    ZONE,
                    "--api-key",
                    VULTR_KEY,
                ],
            )
            .await?;
        let vultr_base = format!("http://{vultr_ip}:8090");
        wait_http(&format!("{vultr_base}/__admin/state")).await?;
        report::ok(&format!("vultr-mock at {vultr_ip} (API :8090, DNS :5353)"));

        let user = format!("{EDGIO_USER}:{EDGIO_KEY}:{EDGIO_SHORTNAME}");
        let dns = format!("{vultr_ip}:5353");
        let edgio_ip = tier
            .run_container(
                "edgio-mock",
                &[],
                &image("edgio-mock"),
                &[
                    "--listen",
                    "0.0.0.0:8081",
                    "--edge-listen",
                    "0.0.0.0:8082",
                    "--user",
                    &user,
                    "--dns-server",
                    &dns,
                ],
            )
            .await?;
        let edgio_base = format!("http://{edgio_ip}:8081");
        wait_http(&format!("{edgio_base}/__admin/state")).await?;
        report::ok(&format!("edgio-mock at {edgio_ip} (API :8081, edge :8082)"));

        // kube-local writes its kubeconfig; the image runs as non-root, so it gets a tmpfs.
        let kube_ip = tier
            .run_container(
                "kube-local",
                &["--tmpfs", "/tmp:mode=1777"],
                &image("kube-local"),
                &[
                    "--listen",
                    "0.0.0.0:6443",
                    "--kubeconfig",
                    "/tmp/kubeconfig",
                ],
            )
            .await?;
        let server = format!("http://{kube_ip}:6443");
        wait_http(&format!("{server}/version")).await?;
        let kubeconfig = dir.join("kubeconfig");
        write_kubeconfig(&kubeconfig, &server)?;
        report::ok(&format!("kube-local at {server}"));

        let node_ip = tier
            .run_container("node", &[], &image("pywai"), &["--listen", "0.0.0.0:8000"])
            .await?;
        let client = k8s::client(&kubeconfig).await?;
        let node_addr: IpAddr = node_ip
            .parse()
            .with_context(|| format!("node address {node_ip}"))?;
        k8s::register_node(&client, "e2e-container-node", node_addr).await?;
        report::ok(&format!(
            "Node e2e-container-node registered with InternalIP {node_ip}"
        ));
        let node_container = tier.container_name("node");
        tier.kubelet = tokio::spawn(kubelet(client.clone(), node_container, run_id.clone()));

        tier.controller_env = local::controller_env(local::ControllerSettings {
            kubeconfig: KUBECONFIG_IN_CONTAINER,
            edgio_base: &edgio_base,
            vultr_base: &vultr_base,
            owner_id: OWNER_ID,
            http_addr: "0.0.0.0:8080",
            pod_name: "edgio-ingress-container",
        });

        tier.env = Env {
            client,
            kubeconfig,
            edgio: MockAdmin::new("edgio-mock", &edgio_base),
            vultr: MockAdmin::new("vultr-mock", &vultr_base),
            dns: SocketAddr::new(vultr_ip.parse().context("vultr address")?, 5353),
            edge: format!("http://{edgio_ip}:8082"),
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
        Ok(tier)
    }

    fn container_name(&self, role: &str) -> String {
        format!("e2e-{}-{role}", self.run_id)
    }

    /// `docker run -d` on our network; returns the container's address on it.
    async fn run_container(
        &self,
        role: &str,
        extra: &[&str],
        image: &str,
        args: &[&str],
    ) -> Result<String> {
        let name = self.container_name(role);
        let label = format!("{LABEL}={}", self.run_id);
        let mut argv: Vec<&str> = vec![
            "run",
            "-d",
            "--name",
            &name,
            "--label",
            &label,
            "--network",
            &self.network,
        ];
        argv.extend_from_slice(extra);
        argv.push(image);
        argv.extend_from_slice(args);
        docker(&argv).await?;
        container_ip(&name).await
    }

    fn controller_args(&self, env: &BTreeMap<String, String>, role: &str) -> Vec<String> {
        let mut v = vec![
            "-v".to_owned(),
            format!(
                "{}:{KUBECONFIG_IN_CONTAINER}:ro",
                self.env.kubeconfig.display()
            ),
        ];
        for (k, val) in env {
            let val = if k == "POD_NAME" {
                format!("{val}-{role}")
            } else {
                val.clone()
            };
            v.push("-e".to_owned());
            v.push(format!("{k}={val}"));
        }
        v
    }

    async fn start_controller_container(
        &mut self,
        role: &str,
        env: &BTreeMap<String, String>,
    ) -> Result<String> {
        let extra = self.controller_args(env, role);
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        self.run_container(role, &extra, &image("controller"), &["run"])
            .await?;
        Ok(self.container_name(role))
    }

    /// Saves every container's log in the run directory, then removes everything.
    pub async fn shutdown(self) {
        self.kubelet.abort();
        let filter = format!("label={LABEL}={}", self.run_id);
        if let Ok(names) =
            docker(&["ps", "-a", "--filter", &filter, "--format", "{{.Names}}"]).await
        {
            for name in names.split_whitespace() {
                if let Ok(out) = tokio::process::Command::new("docker")
                    .args(["logs", name])
                    .output()
                    .await
                {
                    let mut text = out.stdout;
                    text.extend_from_slice(&out.stderr);
                    let _ = std::fs::write(self.dir.join(format!("{name}.log")), text);
                }
            }
        }
        remove_all_sync(&self.run_id, &self.network);
        report::ok("removed every container and the network");
    }
}

fn placeholder_env(dir: &Path) -> Result<Env> {
    // Only used between creating the network and starting kube-local, so that Drop can run.
    let kubeconfig = dir.join("kubeconfig");
    let config = kube::Config::new("http://127.0.0.1:9".parse().context("placeholder URL")?);
    Ok(Env {
        client: kube::Client::try_from(config)?,
        kubeconfig,
        edgio: MockAdmin::new("edgio-mock", "http://127.0.0.1:9"),
        vultr: MockAdmin::new("vultr-mock", "http://127.0.0.1:9"),
        dns: SocketAddr::from(([127, 0, 0, 1], 9)),
        edge: String::new(),
        node_url: NodeUrl::new("", k8s::NODE_PORT),
        owner_id: OWNER_ID.to_owned(),
        origin: ORIGIN.to_owned(),
        zone: ZONE.to_owned(),
        node_address_types: vec!["InternalIP".to_owned()],
        resync: RESYNC,
        vultr_api: String::new(),
        vultr_key: String::new(),
        edgio_api: String::new(),
        edgio_user: String::new(),
        edgio_key: String::new(),
        edgio_shortname: String::new(),
    })
}

async fn container_ip(name: &str) -> Result<String> {
    let ip = docker(&[
        "inspect",
        "-f",
        "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}",
        name,
    ])
    .await?;
    let ip = ip.split_whitespace().next().unwrap_or_default().to_owned();
    if ip.is_empty() {
        let logs = docker(&["logs", "--tail", "20", name])
            .await
            .unwrap_or_default();
        bail!("container {name} has no address (did it exit?): {logs}");
    }
    Ok(ip)
}

async fn wait_http(url: &str) -> Result<()> {
    wait::until(
        &format!("{url} to answer"),
        Duration::from_secs(30),
        || async {
            match crate::mocks::http_get(url, None).await {
                Ok(p) if p.status < 500 => Ok(()),
                Ok(p) => Err(format!("status {}", p.status)),
                Err(e) => Err(format!("{e:#}")),
            }
        },
    )
    .await
}

fn write_kubeconfig(path: &Path, server: &str) -> Result<()> {
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: kube-local\n  cluster:\n    server: {server}\n\
         users:\n- name: e2e\n  user: {{}}\ncontexts:\n- name: kube-local\n  context:\n    cluster: kube-local\n    user: e2e\n\
         current-context: kube-local\n"
    );
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    // The controller container runs as a non-root user and reads it through a bind mount.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644))?;
    Ok(())
}

/// kubelet/kube-proxy for the container tier: one pywai container per wanted nodePort, sharing
/// the node container's network namespace (so every nodePort is on the node's address).
async fn kubelet(client: kube::Client, node: String, run_id: String) {
    let mut running: BTreeMap<u16, String> = BTreeMap::new();
    loop {
        if let Ok(wanted) = crate::local::wanted_ports(&client).await {
            let stale: Vec<u16> = running
                .keys()
                .filter(|p| !wanted.contains(p))
                .copied()
                .collect();
            for port in stale {
                if let Some(name) = running.remove(&port) {
                    let _ = docker(&["rm", "-f", &name]).await;
                }
            }
            for port in wanted {
                if running.contains_key(&port) {
                    continue;
                }
                let name = format!("e2e-{run_id}-pywai-{port}");
                let label = format!("{LABEL}={run_id}");
                let netns = format!("container:{node}");
                let listen = format!("0.0.0.0:{port}");
                let _ = docker(&["rm", "-f", &name]).await;
                match docker(&[
                    "run",
                    "-d",
                    "--name",
                    &name,
                    "--label",
                    &label,
                    "--network",
                    &netns,
                    &image("pywai"),
                    "--listen",
                    &listen,
                ])
                .await
                {
                    Ok(_) => {
                        running.insert(port, name);
                    }
                    Err(e) => report::note(&format!("kubelet: pywai for nodePort {port}: {e:#}")),
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

impl Platform for ContainerTier {
    fn name(&self) -> &'static str {
        "containers"
    }

    async fn manifests_applied(&mut self) -> Result<()> {
        if self.controller.is_none() {
            let env = self.controller_env.clone();
            let name = self.start_controller_container("controller", &env).await?;
            report::ok(&format!("started controller container {name}"));
            self.controller = Some(name);
        }
        Ok(())
    }

    async fn stop_controller(&mut self) -> Result<bool> {
        if let Some(name) = &self.controller {
            docker(&["kill", name]).await?;
        }
        Ok(true)
    }

    async fn start_controller(&mut self) -> Result<()> {
        match &self.controller {
            Some(name) => {
                docker(&["start", name]).await?;
                Ok(())
            }
            None => self.manifests_applied().await,
        }
    }

    async fn controller_log_tail(&mut self, lines: usize) -> String {
        let Some(name) = &self.controller else {
            return "(controller not started)".to_owned();
        };
        let n = lines.to_string();
        match tokio::process::Command::new("docker")
            .args(["logs", "--tail", &n, name])
            .output()
            .await
        {
            Ok(out) => format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
            Err(e) => format!("docker logs failed: {e}"),
        }
    }

    async fn start_second_controller(&mut self, second: &SecondController) -> Result<bool> {
        let mut env = self.controller_env.clone();
        env.insert("OWNER_ID".into(), second.owner_id.clone());
        env.insert("INGRESS_CLASS".into(), second.class.clone());
        env.insert("CONTROLLER_NAME".into(), second.controller_name.clone());
        env.insert("ORIGIN_HOSTNAME".into(), second.origin.clone());
        let name = self
            .start_controller_container("controller-second", &env)
            .await?;
        self.second = Some(name);
        Ok(true)
    }

    async fn stop_second_controller(&mut self) -> Result<()> {
        if let Some(name) = self.second.take() {
            docker(&["rm", "-f", &name]).await?;
        }
        Ok(())
    }

    async fn run_plan(&mut self) -> Result<Option<String>> {
        let env = self.controller_env.clone();
        let mut argv: Vec<String> = vec![
            "run".into(),
            "--rm".into(),
            "--network".into(),
            self.network.clone(),
        ];
        argv.push("--label".into());
        argv.push(format!("{LABEL}={}", self.run_id));
        argv.extend(self.controller_args(&env, "plan"));
        argv.push(image("controller"));
        argv.push("plan".into());
        let out = tokio::time::timeout(
            Duration::from_secs(90),
            tokio::process::Command::new("docker")
                .args(&argv)
                .kill_on_drop(true)
                .output(),
        )
        .await
        .context("plan did not finish within 90s")??;
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
