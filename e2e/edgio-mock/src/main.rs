//! edgio-mock: the Edgio Delivery Configuration API (signed, validated, with fault injection and
//! an admin API) plus a CDN edge that serves the published rules through real DNS.

mod api;
mod auth;
mod cli;
mod clock;
mod edge;
mod faults;
mod model;
mod resolve;
mod server;
mod store;

use std::collections::VecDeque;
use std::io::Write;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::Parser;
use tokio::net::TcpListener;

use crate::cli::Args;

/// Writes one JSON access-log line to stdout.
pub fn access_log(line: &serde_json::Value) {
    let mut out = std::io::stdout().lock();
    // A closed stdout must not take the server down.
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Elapsed time in milliseconds, rounded to microseconds for the access log.
pub fn millis(since: std::time::Instant) -> f64 {
    (since.elapsed().as_secs_f64() * 1_000_000.0).round() / 1000.0
}

#[derive(Debug, thiserror::Error)]
enum StartError {
    #[error(transparent)]
    Config(#[from] cli::ConfigError),
    #[error(transparent)]
    State(#[from] store::LoadError),
    #[error("invalid --public-base-url: {0}")]
    PublicBase(String),
    #[error("invalid --dns-server: {0}")]
    Dns(String),
    #[error("cannot listen on {addr} ({what}): {source}")]
    Bind {
        what: &'static str,
        addr: String,
        source: std::io::Error,
    },
}

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .json()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("edgio-mock: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "start-up failed");
            eprintln!("edgio-mock: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), StartError> {
    let users = cli::load_users(&args.users, args.config.as_deref())?;
    if users.is_empty() {
        tracing::warn!(
            "no users configured (--user / EDGIO_MOCK_USERS / --config): every API call will get 401"
        );
    }
    let faults = cli::faults_from_args(&args)?;
    let public_base = args
        .public_base_url
        .as_deref()
        .map(auth::PublicBase::parse)
        .transpose()
        .map_err(StartError::PublicBase)?;
    let store = Arc::new(store::Store::open(args.state_file.clone())?);
    let resolver =
        resolve::OriginResolver::new(args.dns_server.as_deref()).map_err(StartError::Dns)?;

    let bind = |what: &'static str, addr: String| async move {
        TcpListener::bind(&addr)
            .await
            .map_err(|source| StartError::Bind { what, addr, source })
    };
    let api_listener = bind("API", args.listen.clone()).await?;
    let edge_listener = bind("edge", args.edge_listen.clone()).await?;
    let api_addr = api_listener
        .local_addr()
        .map_err(|source| StartError::Bind {
            what: "API",
            addr: args.listen.clone(),
            source,
        })?;
    let edge_addr = edge_listener
        .local_addr()
        .map_err(|source| StartError::Bind {
            what: "edge",
            addr: args.edge_listen.clone(),
            source,
        })?;

    let app = Arc::new(api::App {
        users,
        public_base,
        store: store.clone(),
        faults: faults::Faults::new(faults.clone()),
        initial_faults: faults,
        clock_override_ms: args.clock_ms,
        requests: Mutex::new(VecDeque::new()),
    });
    let edge = Arc::new(edge::Edge::new(
        store,
        resolver,
        Duration::from_secs_f64(args.origin_timeout_secs),
    ));
    tracing::info!(api = %api_addr, edge = %edge_addr, dns = %edge.resolver.describe(), "edgio-mock listening");
    // Tests and scripts read this first stdout line to learn the bound ports.
    access_log(&serde_json::json!({
        "api": format!("http://{api_addr}"),
        "edge": format!("http://{edge_addr}"),
    }));

    let api_task = tokio::spawn(server::serve(api_listener, "api", move |req, peer| {
        api::handle(app.clone(), req, peer)
    }));
    let edge_task = tokio::spawn(server::serve(edge_listener, "edge", move |req, peer| {
        edge::handle(edge.clone(), req, peer)
    }));
    shutdown_signal().await;
    tracing::info!("shutting down");
    api_task.abort();
    edge_task.abort();
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
