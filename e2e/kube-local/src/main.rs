//! kube-local: a single-process Kubernetes API server for the local test tier.
//!
//! `kube-local --listen 127.0.0.1:0 --kubeconfig PATH` binds, writes a kubeconfig for the bound
//! address, prints `{"listening":"http://127.0.0.1:PORT"}` on stdout and serves until killed.

mod admission;
mod api;
mod discovery;
mod errors;
mod events;
mod fields;
mod managed;
mod patch;
mod protobuf;
mod resources;
mod selectors;
mod server;
mod store;
mod table;
mod util;

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;

#[derive(Debug, Parser)]
#[command(
    name = "kube-local",
    version,
    about = "A single-process Kubernetes API server for tests"
)]
struct Args {
    /// Address to listen on (loopback; port 0 picks a free port).
    #[arg(long, env = "KUBE_LOCAL_LISTEN", default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Where to write a kubeconfig for the bound address (context `kube-local`).
    #[arg(long, env = "KUBE_LOCAL_KUBECONFIG")]
    kubeconfig: Option<PathBuf>,
    /// Require `Authorization: Bearer TOKEN` on every API request.
    #[arg(long, env = "KUBE_LOCAL_TOKEN")]
    token: Option<String>,
    /// Number of changes kept for watches to resume from; older resourceVersions get 410 Gone.
    #[arg(long, env = "KUBE_LOCAL_WATCH_HISTORY", default_value_t = 10_000)]
    watch_history: usize,
    /// Seconds between periodic BOOKMARK events on watches that allow them.
    #[arg(long, env = "KUBE_LOCAL_BOOKMARK_INTERVAL", default_value_t = 60)]
    bookmark_interval: u64,
    /// Report every Deployment as rolled out (no Pods are run), so `kubectl rollout status` completes.
    #[arg(long, env = "KUBE_LOCAL_SIMULATE_DEPLOYMENTS")]
    simulate_deployments: bool,
    /// Log format on stderr: json or text.
    #[arg(long, env = "LOG_FORMAT", default_value = "json")]
    log_format: String,
}

#[derive(Debug, thiserror::Error)]
enum StartError {
    #[error("cannot bind {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot write kubeconfig {path}: {source}")]
    Kubeconfig {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("server failed: {0}")]
    Serve(std::io::Error),
}

fn kubeconfig_text(server: &str, token: Option<&str>) -> String {
    let user = match token {
        Some(t) => format!(
            "  user:\n    token: {}\n",
            serde_json::to_string(t).unwrap_or_default()
        ),
        None => "  user: {}\n".to_string(),
    };
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: kube-local\n  cluster:\n    server: {server}\ncontexts:\n- name: kube-local\n  context:\n    cluster: kube-local\n    user: kube-local\n    namespace: default\ncurrent-context: kube-local\nusers:\n- name: kube-local\n{user}preferences: {{}}\n"
    )
}

fn write_kubeconfig(path: &Path, text: &str) -> Result<(), StartError> {
    let err = |source| StartError::Kubeconfig {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    // Write then rename, so a reader never sees half a file.
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)
}

async fn run(args: Args) -> Result<(), StartError> {
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|source| StartError::Bind {
            addr: args.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| StartError::Bind {
        addr: args.listen,
        source,
    })?;
    let url = format!("http://{addr}");
    let store = store::Store::new(args.watch_history);
    api::bootstrap(&store, addr.port());
    if let Some(path) = &args.kubeconfig {
        write_kubeconfig(path, &kubeconfig_text(&url, args.token.as_deref()))?;
    }
    let state = Arc::new(server::AppState {
        store: store.clone(),
        token: args.token.clone(),
        server_address: addr.to_string(),
        bookmark_interval: Duration::from_secs(args.bookmark_interval.max(1)),
        default_watch_timeout: Duration::from_secs(1800),
    });
    // Namespace controller: finishes namespace deletions.
    let reaper_store = store.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            api::reap_namespaces(&reaper_store);
        }
    });
    if args.simulate_deployments {
        let sim_store = store.clone();
        let mut rx = store.subscribe();
        tokio::spawn(async move {
            loop {
                match rx.recv().await {
                    Ok(change)
                        if change.storage == "deployments.apps"
                            && change.kind != store::ChangeKind::Deleted =>
                    {
                        let meta = |k: &str| {
                            change
                                .object
                                .pointer(&format!("/metadata/{k}"))
                                .and_then(serde_json::Value::as_str)
                                .unwrap_or("")
                                .to_string()
                        };
                        api::simulate_deployment_status(
                            &sim_store,
                            &meta("namespace"),
                            &meta("name"),
                        );
                    }
                    Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                }
            }
        });
    }
    let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
        let state = state.clone();
        async move { server::handle(state, req).await }
    });
    tracing::info!(listening = %url, "kube-local ready");
    {
        let mut out = std::io::stdout().lock();
        // If stdout is gone nobody is waiting for the line; keep serving anyway.
        let _ = writeln!(out, "{}", serde_json::json!({"listening": url}));
        let _ = out.flush();
    }
    // Watches are open-ended, so a graceful drain would wait for them; on SIGTERM/SIGINT the
    // server simply stops (the state lives in memory only).
    tokio::select! {
        r = axum::serve(listener, app) => r.map_err(StartError::Serve),
        () = shutdown_signal() => {
            tracing::info!("kube-local stopping on signal");
            Ok(())
        }
    }
}

async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = term => {}
    }
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    if args.log_format == "text" {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init();
    } else {
        tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init();
    }
    let rt = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("kube-local: cannot start runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "kube-local failed");
            std::process::ExitCode::FAILURE
        }
    }
}
