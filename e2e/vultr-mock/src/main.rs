//! vultr-mock: a mock of the Vultr DNS API v2 (under `/v2`, plus `/__admin/`) that also serves its
//! zones over real DNS (UDP and TCP). See README.md for flags, the admin API and the choices made.

mod admin;
mod api;
mod app;
mod clock;
mod dns;
mod faults;
mod pagination;
mod persist;
mod store;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use hickory_server::ServerFuture;
use tokio::net::{TcpListener, UdpSocket};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::writer::MakeWriterExt;

use crate::app::{App, Settings};
use crate::faults::{Faults, parse_error_rate};
use crate::store::{NewDomain, Store, StoreError};

/// The key accepted when no `--api-key` is given: the demo's.
const DEMO_API_KEY: &str = "demo-vultr-key";
/// Idle TCP DNS connections are closed after this.
const DNS_TCP_TIMEOUT: Duration = Duration::from_secs(10);
/// Attempts at finding a port free for both UDP and TCP when `--dns-listen` asks for port 0.
const DNS_BIND_ATTEMPTS: usize = 20;

#[derive(Debug, Parser)]
#[command(name = "vultr-mock", version, about)]
struct Args {
    /// Address of the HTTP API (`/v2/...`) and admin API (`/__admin/...`).
    #[arg(long, env = "VULTR_MOCK_LISTEN", default_value = "127.0.0.1:8090")]
    listen: SocketAddr,
    /// Address of the DNS server (UDP and TCP on the same port).
    #[arg(long, env = "VULTR_MOCK_DNS_LISTEN", default_value = "127.0.0.1:5353")]
    dns_listen: SocketAddr,
    /// Accepted API key (repeatable); default `demo-vultr-key` when none is given.
    #[arg(long = "api-key", env = "VULTR_MOCK_API_KEYS", value_delimiter = ',')]
    api_keys: Vec<String>,
    /// Zone created empty at start-up when absent (repeatable).
    #[arg(long = "domain", env = "VULTR_MOCK_DOMAINS", value_delimiter = ',')]
    domains: Vec<String>,
    /// Requests per second per client IP before 429 (0 = no limit).
    #[arg(long, env = "VULTR_MOCK_RATE_LIMIT", default_value_t = 30.0)]
    rate_limit: f64,
    /// TTL of records created without one.
    #[arg(long, env = "VULTR_MOCK_DEFAULT_TTL", default_value_t = 300)]
    default_ttl: u32,
    /// JSON file the state is saved to after every change and loaded from at start-up.
    #[arg(long, env = "VULTR_MOCK_STATE_FILE")]
    state_file: Option<PathBuf>,
    /// Fraction of requests of METHOD (`*` = any) answered with a 5xx, as METHOD=FRACTION (repeatable).
    #[arg(long = "error-rate", env = "VULTR_MOCK_ERROR_RATE", value_delimiter = ',', value_parser = parse_error_rate)]
    error_rate: Vec<(String, f64)>,
    /// Delay added before every API answer, in milliseconds.
    #[arg(long, env = "VULTR_MOCK_LATENCY_MS", default_value_t = 0)]
    latency_ms: u64,
    /// Answer the first N API requests with 429.
    #[arg(long = "burst-429", env = "VULTR_MOCK_BURST_429", default_value_t = 0)]
    burst_429: u32,
    /// `Retry-After` seconds sent with the injected 429s.
    #[arg(
        long = "retry-after",
        env = "VULTR_MOCK_RETRY_AFTER",
        default_value_t = 1
    )]
    retry_after: u64,
    /// Accepted for parity with edgio-mock; nothing in the Vultr API is asynchronous.
    #[arg(long, env = "VULTR_MOCK_PROCESSING_SECONDS", default_value_t = 0.0)]
    processing_seconds: f64,
}

#[derive(Debug, thiserror::Error)]
enum StartError {
    #[error(transparent)]
    State(#[from] persist::PersistError),
    #[error("invalid --domain: {0}")]
    Domain(StoreError),
    #[error("cannot listen for HTTP on {addr}: {source}")]
    BindApi {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot listen for DNS on {addr}: {source}")]
    BindDns {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("HTTP server failed: {0}")]
    Serve(std::io::Error),
}

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        // Access logs on stdout, warnings and errors on stderr.
        .with_writer(
            std::io::stderr
                .with_max_level(tracing::Level::WARN)
                .or_else(std::io::stdout),
        )
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("vultr-mock: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vultr-mock: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The start-up state: the state file's content when there is one, plus every `--domain` zone not
/// in it yet.
fn initial_store(args: &Args) -> Result<Store, StartError> {
    let mut store = match &args.state_file {
        Some(path) => persist::load(path)?.unwrap_or_default(),
        None => Store::default(),
    };
    let now = clock::now_rfc3339();
    let serial = u32::try_from(clock::unix_now()).unwrap_or(1);
    for zone in args
        .domains
        .iter()
        .map(|d| d.trim())
        .filter(|d| !d.is_empty())
    {
        if store.domain(zone).is_err() {
            store
                .create_domain(
                    NewDomain {
                        domain: zone.to_string(),
                        ..Default::default()
                    },
                    &now,
                    serial,
                )
                .map_err(StartError::Domain)?;
        }
    }
    if let Some(path) = &args.state_file {
        persist::save(path, &store)?;
    }
    Ok(store)
}

/// Binds UDP and TCP on one port; with port 0, retries until a port is free for both.
async fn bind_dns(addr: SocketAddr) -> Result<(UdpSocket, TcpListener), StartError> {
    let mut last_error = None;
    for _ in 0..DNS_BIND_ATTEMPTS {
        let udp = UdpSocket::bind(addr)
            .await
            .map_err(|source| StartError::BindDns { addr, source })?;
        let bound = udp
            .local_addr()
            .map_err(|source| StartError::BindDns { addr, source })?;
        match TcpListener::bind(bound).await {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(source) if addr.port() == 0 => last_error = Some(source),
            Err(source) => return Err(StartError::BindDns { addr, source }),
        }
    }
    Err(StartError::BindDns {
        addr,
        source: last_error.unwrap_or_else(|| std::io::Error::other("no free port")),
    })
}

async fn run(args: Args) -> Result<(), StartError> {
    let store = initial_store(&args)?;
    let mut api_keys: Vec<String> = args
        .api_keys
        .iter()
        .map(|k| k.trim().to_string())
        .filter(|k| !k.is_empty())
        .collect();
    if api_keys.is_empty() {
        api_keys.push(DEMO_API_KEY.to_string());
    }
    let faults = Faults {
        error_rate: args.error_rate.iter().cloned().collect(),
        latency_ms: args.latency_ms,
        burst_429: args.burst_429,
        retry_after_secs: args.retry_after,
        rate_limit_per_sec: None,
        processing_seconds: args.processing_seconds,
    };
    let app = Arc::new(App::new(
        store,
        faults,
        Settings {
            api_keys,
            default_ttl: args.default_ttl,
            rate_limit: args.rate_limit,
            state_file: args.state_file.clone(),
        },
    ));

    let http = TcpListener::bind(args.listen)
        .await
        .map_err(|source| StartError::BindApi {
            addr: args.listen,
            source,
        })?;
    let http_addr = http.local_addr().map_err(|source| StartError::BindApi {
        addr: args.listen,
        source,
    })?;
    let (udp, tcp) = bind_dns(args.dns_listen).await?;
    let dns_addr = tcp.local_addr().map_err(|source| StartError::BindDns {
        addr: args.dns_listen,
        source,
    })?;

    let mut dns = ServerFuture::new(dns::DnsHandler::new(app.store_handle()));
    dns.register_socket(udp);
    dns.register_listener(tcp, DNS_TCP_TIMEOUT);
    tokio::spawn(async move {
        if let Err(e) = dns.block_until_done().await {
            tracing::error!(error = %e, "dns server stopped");
        }
    });

    // The readiness line harnesses wait for: both servers are bound and serving from here on.
    println!(
        "{}",
        serde_json::json!({"api": format!("http://{http_addr}"), "dns": dns_addr.to_string()})
    );
    tracing::info!(api = %http_addr, dns = %dns_addr, "vultr-mock serving");

    axum::serve(
        http,
        api::router(app).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .map_err(StartError::Serve)
}

/// Ctrl-C or SIGTERM (what `docker stop` and Kubernetes send to PID 1).
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
