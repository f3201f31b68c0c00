//! Wiring for the two commands: build the provider clients, the kube client and the engine, then
//! run the controller (`run`) or print the plan (`plan`).

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, Service};
use k8s_openapi::api::networking::v1::{Ingress, IngressClass};
use kube::Client;
use kube::api::{Api, ListParams};
use kube::runtime::events::Reporter;
use tokio_util::sync::CancellationToken;

use crate::cli::{Common, ConfigError, PlanArgs, RunArgs};
use crate::ingress::Cluster;
use crate::leader::{Elector, LeaderError, LeaseConfig};
use crate::metrics::Metrics;
use crate::plan::{FullPlan, full_plan};
use crate::providers::edgio::{EdgioClient, EdgioConfig};
use crate::providers::vultr::{VultrClient, VultrConfig};
use crate::reconcile::controller::{self, RunSetup, Watches};
use crate::reconcile::{CdnApi, DnsApi, EdgioCdn, Engine, ReconcileError, VultrDns};
use crate::server::{self, ServerState};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("invalid configuration: {0}")]
    Config(#[from] ConfigError),
    #[error("cannot build the {provider} client: {message}")]
    Provider {
        provider: &'static str,
        message: String,
    },
    #[error("cannot reach the Kubernetes API: {0}")]
    Kube(#[source] kube::Error),
    #[error("cannot serve HTTP on {addr}: {source}")]
    Http {
        addr: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Leader(#[from] LeaderError),
    #[error("cannot read provider state: {0}")]
    Snapshot(#[from] ReconcileError),
}

impl AppError {
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Config(e) => e.reason(),
            Self::Provider { .. } => "ProviderClientInvalid",
            Self::Kube(_) => "KubeUnreachable",
            Self::Http { .. } => "HttpBindFailed",
            Self::Leader(e) => e.reason(),
            Self::Snapshot(e) => e.reason(),
        }
    }

    /// The process exits either way; a supervisor restarting it may succeed for these.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Kube(_) | Self::Leader(_) | Self::Snapshot(_))
    }

    /// Exit code: 2 for configuration errors, 1 for everything else.
    pub fn exit_code(&self) -> u8 {
        if matches!(self, Self::Config(_)) {
            2
        } else {
            1
        }
    }
}

/// The two provider ports the engine applies plans through.
type Providers = (Arc<dyn CdnApi>, Arc<dyn DnsApi>);

fn providers(common: &Common, metrics: Arc<Metrics>) -> Result<Providers, AppError> {
    let edgio = EdgioClient::new(EdgioConfig::new(
        common.edgio_base_url.clone(),
        common.edgio_username.clone(),
        common.edgio_shared_key.expose().to_string(),
    ))
    .map_err(|e| AppError::Provider {
        provider: "edgio",
        message: e.to_string(),
    })?
    .with_observer(metrics.clone());
    let vultr = VultrClient::new(VultrConfig::new(
        common.vultr_base_url.clone(),
        common.vultr_api_key.expose().to_string(),
    ))
    .map_err(|e| AppError::Provider {
        provider: "vultr",
        message: e.to_string(),
    })?
    .with_observer(metrics);
    let cdn = EdgioCdn {
        client: Arc::new(edgio),
        shortname: common.edgio_shortname.clone(),
    };
    let dns = VultrDns {
        client: Arc::new(vultr),
        zone: common.dns_zone.trim_end_matches('.').to_string(),
    };
    Ok((Arc::new(cdn), Arc::new(dns)))
}

/// Namespaced APIs when exactly one namespace is watched (so RBAC can be namespaced), else
/// cluster-wide ones; a list of several namespaces is filtered in [`crate::ingress::ClassConfig`].
fn watches(client: &Client, namespaces: &[String]) -> Watches {
    match namespaces {
        [one] => Watches {
            ingresses: Api::namespaced(client.clone(), one),
            services: Api::namespaced(client.clone(), one),
            nodes: Api::all(client.clone()),
            classes: Api::all(client.clone()),
        },
        _ => Watches {
            ingresses: Api::all(client.clone()),
            services: Api::all(client.clone()),
            nodes: Api::all(client.clone()),
            classes: Api::all(client.clone()),
        },
    }
}

fn shutdown_on_signals() -> CancellationToken {
    let token = CancellationToken::new();
    let t = token.clone();
    tokio::spawn(async move {
        let terminate = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate => {}
        }
        tracing::info!("shutting down");
        t.cancel();
    });
    token
}

fn identity(args: &RunArgs) -> String {
    args.pod_name
        .clone()
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok().filter(|s| !s.is_empty()))
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
        })
        .unwrap_or_else(|| format!("edgio-ingress-{}", std::process::id()))
}

pub async fn run(args: RunArgs) -> Result<(), AppError> {
    let settings = args.common.plan_settings()?;
    let metrics = Arc::new(Metrics::new());
    let (cdn, dns) = providers(&args.common, metrics.clone())?;
    let engine = Arc::new(Engine::new(cdn, dns, settings, metrics.clone()));
    let shutdown = shutdown_on_signals();
    let ready = Arc::new(AtomicBool::new(false));

    let listener = tokio::net::TcpListener::bind(args.http_addr)
        .await
        .map_err(|source| AppError::Http {
            addr: args.http_addr.to_string(),
            source,
        })?;
    let state = ServerState {
        metrics: metrics.clone(),
        ready: ready.clone(),
    };
    let server = tokio::spawn(server::serve(listener, state, shutdown.clone()));

    let client = Client::try_default().await.map_err(AppError::Kube)?;
    let identity = identity(&args);
    let reporter = Reporter {
        controller: "edgio-ingress".to_string(),
        instance: Some(identity.clone()),
    };
    let namespaces = args.common.namespaces();
    tracing::info!(
        identity = %identity,
        class = %args.common.ingress_class,
        owner_id = %args.common.owner_id,
        origin = %args.common.origin_hostname,
        namespaces = ?namespaces,
        resync = ?args.common.resync_interval,
        leader_elect = args.leader_elect,
        "starting edgio-ingress {}",
        env!("CARGO_PKG_VERSION")
    );

    let result = if args.leader_elect {
        let elector = Elector::new(
            Api::<Lease>::namespaced(client.clone(), &args.pod_namespace),
            LeaseConfig::new(args.lease_name.clone(), identity.clone()),
        );
        // A standby replica is healthy and ready: it only waits.
        ready.store(true, std::sync::atomic::Ordering::Relaxed);
        if elector.acquire(&shutdown).await.is_some() {
            tracing::info!(lease = %args.lease_name, "became leader");
            ready.store(false, std::sync::atomic::Ordering::Relaxed);
            metrics.leader.set(1);
            let run_token = shutdown.child_token();
            let task = tokio::spawn(controller::run(
                client.clone(),
                RunSetup {
                    watches: watches(&client, &namespaces),
                    engine,
                    metrics: metrics.clone(),
                    reporter,
                    resync: args.common.resync_interval,
                    ready: ready.clone(),
                },
                run_token.clone(),
            ));
            let held = elector.hold(&shutdown).await;
            run_token.cancel();
            let _ = task.await;
            metrics.leader.set(0);
            match held {
                Ok(()) => {
                    elector.release().await;
                    Ok(())
                }
                Err(e) => Err(AppError::Leader(e)),
            }
        } else {
            Ok(())
        }
    } else {
        metrics.leader.set(1);
        controller::run(
            client.clone(),
            RunSetup {
                watches: watches(&client, &namespaces),
                engine,
                metrics: metrics.clone(),
                reporter,
                resync: args.common.resync_interval,
                ready,
            },
            shutdown.clone(),
        )
        .await;
        Ok(())
    };
    shutdown.cancel();
    let _ = server.await;
    result
}

async fn list<K>(api: Api<K>) -> Result<Vec<Arc<K>>, AppError>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let list = api
        .list(&ListParams::default())
        .await
        .map_err(AppError::Kube)?;
    Ok(list.items.into_iter().map(Arc::new).collect())
}

/// Computes the plan against the live cluster and providers; makes no writes anywhere.
pub async fn plan(args: PlanArgs) -> Result<FullPlan, AppError> {
    let settings = args.common.plan_settings()?;
    let metrics = Arc::new(Metrics::new());
    let (cdn, dns) = providers(&args.common, metrics.clone())?;
    let engine = Engine::new(cdn, dns, settings, metrics);
    let client = Client::try_default().await.map_err(AppError::Kube)?;
    let w = watches(&client, &args.common.namespaces());
    let cluster = Cluster {
        ingresses: list::<Ingress>(w.ingresses).await?,
        services: list::<Service>(w.services).await?,
        nodes: list::<Node>(w.nodes).await?,
        classes: list::<IngressClass>(w.classes).await?,
    };
    let (rules, records) = engine.snapshot().await?;
    Ok(full_plan(&cluster, &rules, &records, &engine.settings))
}
