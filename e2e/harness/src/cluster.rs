//! Any cluster given a kubeconfig (the kind tier): the manifests run for real, so the controller
//! is a Deployment (stopped by scaling to zero), its log comes from `kubectl logs`, and `plan`
//! runs inside its pod. Node join/leave and a second controller are skipped: a real cluster's
//! nodes are real.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;

use crate::k8s::kubectl;
use crate::platform::{Platform, SecondController};
use crate::report;

pub const CONTROLLER_NAMESPACE: &str = "edgio-ingress-system";
pub const CONTROLLER_DEPLOYMENT: &str = "edgio-ingress-controller";

pub struct ClusterTier {
    pub kubeconfig: PathBuf,
    replicas: String,
}

impl ClusterTier {
    pub fn new(kubeconfig: PathBuf) -> Self {
        Self {
            kubeconfig,
            replicas: "2".to_owned(),
        }
    }

    async fn kubectl(&self, args: &[&str]) -> Result<String> {
        kubectl(&self.kubeconfig, args).await
    }

    async fn rollout(&self) -> Result<()> {
        self.kubectl(&[
            "-n",
            CONTROLLER_NAMESPACE,
            "rollout",
            "status",
            &format!("deployment/{CONTROLLER_DEPLOYMENT}"),
            "--timeout=180s",
        ])
        .await?;
        Ok(())
    }
}

impl Platform for ClusterTier {
    fn name(&self) -> &'static str {
        "cluster"
    }

    async fn manifests_applied(&mut self) -> Result<()> {
        self.rollout().await?;
        report::ok("controller Deployment rolled out");
        Ok(())
    }

    async fn stop_controller(&mut self) -> Result<bool> {
        let deploy = format!("deployment/{CONTROLLER_DEPLOYMENT}");
        let replicas = self
            .kubectl(&[
                "-n",
                CONTROLLER_NAMESPACE,
                "get",
                &deploy,
                "-o",
                "jsonpath={.spec.replicas}",
            ])
            .await?;
        if !replicas.trim().is_empty() {
            self.replicas = replicas.trim().to_owned();
        }
        self.kubectl(&["-n", CONTROLLER_NAMESPACE, "scale", &deploy, "--replicas=0"])
            .await?;
        // A crash, not a graceful stop: no time to finish the work in hand.
        self.kubectl(&[
            "-n",
            CONTROLLER_NAMESPACE,
            "delete",
            "pod",
            "-l",
            "app.kubernetes.io/name=edgio-ingress",
            "--grace-period=0",
            "--force",
            "--wait=true",
        ])
        .await?;
        Ok(true)
    }

    async fn start_controller(&mut self) -> Result<()> {
        let deploy = format!("deployment/{CONTROLLER_DEPLOYMENT}");
        self.kubectl(&[
            "-n",
            CONTROLLER_NAMESPACE,
            "scale",
            &deploy,
            &format!("--replicas={}", self.replicas),
        ])
        .await?;
        self.rollout().await
    }

    async fn controller_log_tail(&mut self, lines: usize) -> String {
        let tail = format!("--tail={lines}");
        let deploy = format!("deployment/{CONTROLLER_DEPLOYMENT}");
        match self
            .kubectl(&[
                "-n",
                CONTROLLER_NAMESPACE,
                "logs",
                &deploy,
                &tail,
                "--all-containers",
            ])
            .await
        {
            Ok(text) => text,
            Err(e) => format!("kubectl logs failed: {e:#}"),
        }
    }

    async fn start_second_controller(&mut self, _second: &SecondController) -> Result<bool> {
        Ok(false)
    }

    async fn stop_second_controller(&mut self) -> Result<()> {
        Ok(())
    }

    async fn run_plan(&mut self) -> Result<Option<String>> {
        let deploy = format!("deployment/{CONTROLLER_DEPLOYMENT}");
        let out = tokio::time::timeout(
            Duration::from_secs(90),
            self.kubectl(&[
                "-n",
                CONTROLLER_NAMESPACE,
                "exec",
                &deploy,
                "--",
                "/usr/local/bin/edgio-ingress",
                "plan",
            ]),
        )
        .await??;
        Ok(Some(out))
    }

    fn fake_nodes_are_real(&self) -> bool {
        false
    }
}
