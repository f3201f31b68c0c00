//! `e2e`: the end-to-end harness.
//!
//!   e2e local        start the real binaries on loopback and run every scenario
//!   e2e demo         the narrated walkthrough of scenario 1 on the local tier
//!   e2e containers   the same scenarios with our images as containers on a private network
//!   e2e cluster      the same scenarios against any cluster given a kubeconfig (the kind tier)

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};

use e2e::cluster::ClusterTier;
use e2e::containers::{self, ContainerTier};
use e2e::local::LocalTier;
use e2e::mocks::{self, MockAdmin};
use e2e::platform::{Env, NodeUrl};
use e2e::report::say;
use e2e::scenarios::{self, Selection, Suite};
use e2e::{bins, demo, k8s};

#[derive(Parser)]
#[command(
    name = "e2e",
    version,
    about = "End-to-end scenarios for edgio-ingress"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the scenarios on the local tier (real binaries as processes on loopback).
    Local(RunOpts),
    /// Narrated walkthrough of scenario 1 on the local tier; cleans up and exits 0.
    Demo {
        /// Directory of the manifests to apply.
        #[arg(long, default_value = "manifests")]
        manifests: PathBuf,
    },
    /// Run the scenarios with the images as containers on a private Docker network (skipped,
    /// exit 0, when no Docker daemon answers).
    Containers(RunOpts),
    /// Run the scenarios against any cluster where the manifests (with the mocks) are deployed.
    Cluster(Box<ClusterOpts>),
}

#[derive(Args, Clone)]
struct RunOpts {
    /// Comma list of scenarios to run (default all): apply, steady-state, plan, edit, bad,
    /// restart, faults, two-owners, delete.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Directory of the manifests to apply.
    #[arg(long, default_value = "manifests")]
    manifests: PathBuf,
    /// Keep the run directory (logs, kubeconfig) even when everything passed.
    #[arg(long)]
    keep: bool,
}

#[derive(Args, Clone)]
struct ClusterOpts {
    #[arg(long, env = "KUBECONFIG")]
    kubeconfig: PathBuf,
    /// Base URL of the Edgio mock's admin/API server (serves /__admin/ and /config-api/v1/).
    #[arg(long)]
    edgio_admin: String,
    /// Base URL of the Vultr mock's admin/API server (serves /__admin/ and /v2/).
    #[arg(long)]
    vultr_admin: String,
    /// The Vultr mock's DNS server, IP:PORT.
    #[arg(long)]
    dns: String,
    /// Base URL of the CDN edge.
    #[arg(long)]
    edge: String,
    /// How to reach a NodePort: a URL with `{port}` (e.g. http://172.18.0.2:{port}), or a fixed
    /// URL that reaches nodePort 30080 only (e.g. kind's http://localhost:30080).
    #[arg(long)]
    node_url: String,
    /// The controller's OWNER_ID (default: read from its Deployment).
    #[arg(long)]
    owner_id: Option<String>,
    #[arg(long, default_value = "origin.example.com")]
    origin: String,
    #[arg(long, default_value = "example.com")]
    zone: String,
    /// The controller's NODE_ADDRESS_TYPES (which node addresses the origin name must list).
    #[arg(long, default_value = "InternalIP,ExternalIP", value_delimiter = ',')]
    node_address_types: Vec<String>,
    /// The controller's RESYNC_INTERVAL (e.g. 10s, 5m).
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    resync: Duration,
    #[arg(long, default_value = "demo-vultr-key")]
    vultr_key: String,
    /// Edgio user, hex shared key and shortname the mock knows (for rules made by hand).
    #[arg(long, default_value = "demo")]
    edgio_user: String,
    #[arg(long, default_value = "00112233445566778899aabbccddeeff")]
    edgio_key: String,
    #[arg(long, default_value = "demo")]
    edgio_shortname: String,
    #[command(flatten)]
    run: RunOpts,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration like 10s or 5m"))?;
    match unit {
        "" | "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        "h" => Ok(Duration::from_secs(n * 3600)),
        _ => Err(format!("`{s}`: unknown unit `{unit}` (s, m, h)")),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("E2E_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .init();
    let cli = Cli::parse();
    // Dropping the running future kills every child (kill_on_drop), so Ctrl-C leaves no orphans.
    let code = tokio::select! {
        code = run(cli) => code,
        signal = shutdown_signal() => {
            say(&format!("\ne2e: interrupted by {signal}; stopping everything"));
            say(&e2e::report::interrupted_summary());
            130
        }
    };
    ExitCode::from(code)
}

async fn shutdown_signal() -> &'static str {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return "SIGINT";
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "SIGINT",
        _ = term.recv() => "SIGTERM",
    }
}

async fn run(cli: Cli) -> u8 {
    let result = match cli.command {
        Cmd::Local(opts) => local(opts).await,
        Cmd::Demo { manifests } => demo_cmd(manifests).await,
        Cmd::Containers(opts) => containers_cmd(opts).await,
        Cmd::Cluster(opts) => cluster(*opts).await,
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            say(&format!("✗ e2e: {e:#}"));
            say("e2e: 0 passed, 1 failed");
            1
        }
    }
}

fn selection(only: &[String]) -> Result<Selection> {
    if only.is_empty() {
        return Ok(Selection(None));
    }
    let set: BTreeSet<String> = only.iter().map(|s| s.trim().to_owned()).collect();
    for s in &set {
        if !scenarios::ALL.contains(&s.as_str()) {
            bail!(
                "unknown scenario `{s}` (known: {})",
                scenarios::ALL.join(", ")
            );
        }
    }
    Ok(Selection(Some(set)))
}

/// Resolves a path relative to the workspace root when it does not exist as given.
fn workspace_path(p: &Path) -> PathBuf {
    if p.exists() {
        p.to_path_buf()
    } else {
        bins::workspace_root().join(p)
    }
}

/// A fresh run directory under `<workspace>/.e2e/`.
fn run_dir(prefix: &str) -> Result<tempfile::TempDir> {
    let base = bins::workspace_root().join(".e2e");
    std::fs::create_dir_all(&base).with_context(|| format!("creating {}", base.display()))?;
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(&base)
        .context("creating the run directory")
}

async fn local(opts: RunOpts) -> Result<u8> {
    let selection = selection(&opts.only)?;
    let manifests = workspace_path(&opts.manifests);
    let dir = run_dir("local-")?;
    say("e2e local: the real binaries as processes on loopback");
    let started = LocalTier::start(dir.path()).await;
    let (mut tier, dir) = kept_on_failure(dir, started)?;
    let env = tier.env.clone();
    let (passed, failed) = {
        let mut suite = Suite::new(&env, &mut tier, &manifests);
        suite.run(&selection).await;
        (suite.report.passed(), suite.report.failed())
    };
    let mut failed = failed;
    if let Err(e) = tier.check_alive() {
        say(&format!("✗ a process died during the run: {e:#}"));
        failed += 1;
    }
    tier.shutdown().await;
    finish(dir, passed, failed, opts.keep)
}

/// `result` with the run directory, or its error with the directory kept (not deleted) and named,
/// so the processes' logs survive a failure.
fn kept_on_failure<T>(dir: tempfile::TempDir, result: Result<T>) -> Result<(T, tempfile::TempDir)> {
    match result {
        Ok(t) => Ok((t, dir)),
        Err(e) => {
            let kept = dir.keep();
            bail!("{e:#}\n(logs kept in {})", kept.display())
        }
    }
}

fn finish(dir: tempfile::TempDir, passed: usize, failed: usize, keep: bool) -> Result<u8> {
    if failed > 0 || keep {
        let kept = dir.keep();
        say(&format!("logs: {}", kept.display()));
    }
    say(&format!("e2e: {passed} passed, {failed} failed"));
    Ok(if failed == 0 { 0 } else { 1 })
}

async fn demo_cmd(manifests: PathBuf) -> Result<u8> {
    let manifests = workspace_path(&manifests);
    let dir = run_dir("demo-")?;
    say("e2e demo: the article's flow on the local tier (no Docker, no kind)");
    // A tier that fails to start keeps its logs, as it does for `e2e local`.
    let started = LocalTier::start(dir.path()).await;
    let (mut tier, dir) = kept_on_failure(dir, started)?;
    let env = tier.env.clone();
    let result = demo::walkthrough(&env, &mut tier, &manifests).await;
    tier.shutdown().await;
    kept_on_failure(dir, result)?;
    say("\ndemo finished; every process stopped.");
    Ok(0)
}

async fn containers_cmd(opts: RunOpts) -> Result<u8> {
    let selection = selection(&opts.only)?;
    if let Some(reason) = containers::docker_unavailable().await {
        say(&format!("e2e containers: skipped: {reason}"));
        say("e2e: 0 passed, 0 failed");
        return Ok(0);
    }
    let manifests = workspace_path(&opts.manifests);
    let dir = run_dir("containers-")?;
    say("e2e containers: our images as containers on a private Docker network");
    let started = ContainerTier::start(dir.path()).await;
    let (mut tier, dir) = kept_on_failure(dir, started)?;
    let env = tier.env.clone();
    let (passed, failed) = {
        let mut suite = Suite::new(&env, &mut tier, &manifests);
        suite.run(&selection).await;
        (suite.report.passed(), suite.report.failed())
    };
    tier.shutdown().await;
    finish(dir, passed, failed, opts.keep)
}

async fn cluster(opts: ClusterOpts) -> Result<u8> {
    let selection = selection(&opts.run.only)?;
    let manifests = workspace_path(&opts.run.manifests);
    let client = k8s::client(&opts.kubeconfig).await?;
    let owner_id = match opts.owner_id.clone() {
        Some(o) => o,
        None => {
            let out = k8s::kubectl(&opts.kubeconfig, &[
                "-n", e2e::cluster::CONTROLLER_NAMESPACE, "get", "deployment",
                e2e::cluster::CONTROLLER_DEPLOYMENT, "-o",
                "jsonpath={.spec.template.spec.containers[0].env[?(@.name==\"OWNER_ID\")].value}",
            ])
            .await
            .unwrap_or_default();
            let out = out.trim().to_owned();
            if out.is_empty() {
                "edgio-ingress-demo".to_owned()
            } else {
                out
            }
        }
    };
    let env = Env {
        client,
        kubeconfig: opts.kubeconfig.clone(),
        edgio: MockAdmin::new("edgio-mock", &opts.edgio_admin),
        vultr: MockAdmin::new("vultr-mock", &opts.vultr_admin),
        dns: mocks::parse_addr(&opts.dns)?,
        edge: opts.edge.trim_end_matches('/').to_owned(),
        node_url: NodeUrl::new(&opts.node_url, k8s::NODE_PORT),
        owner_id,
        origin: opts.origin.clone(),
        zone: opts.zone.clone(),
        node_address_types: opts.node_address_types.clone(),
        resync: opts.resync,
        vultr_api: format!("{}/v2", opts.vultr_admin.trim_end_matches('/')),
        vultr_key: opts.vultr_key.clone(),
        edgio_api: format!("{}/config-api/v1", opts.edgio_admin.trim_end_matches('/')),
        edgio_user: opts.edgio_user.clone(),
        edgio_key: opts.edgio_key.clone(),
        edgio_shortname: opts.edgio_shortname.clone(),
    };
    say(&format!(
        "e2e cluster: kubeconfig {}, owner id {}",
        opts.kubeconfig.display(),
        env.owner_id
    ));
    let mut tier = ClusterTier::new(opts.kubeconfig.clone());
    let mut suite = Suite::new(&env, &mut tier, &manifests);
    suite.run(&selection).await;
    suite.report.print_summary();
    Ok(if suite.report.failed() == 0 { 0 } else { 1 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_accept_bare_seconds_and_s_m_h_units_and_reject_others() {
        assert_eq!(parse_duration("10"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("4s"), Ok(Duration::from_secs(4)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert!(parse_duration("5d").is_err());
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn unknown_scenario_names_are_refused() {
        assert!(selection(&["apply".into(), "edit".into()]).is_ok());
        assert!(selection(&["nope".into()]).is_err());
    }
}
