//! `e2e demo`: scenario 1 as a narrated walkthrough — apply the manifests, then show the rule the
//! controller made in the Edgio mock, the DNS answer for the origin, `kubectl get ingress`, and
//! the two curl commands (NodePort and CDN edge) with their output.

use std::path::Path;

use anyhow::{Context, Result, ensure};

use crate::k8s::{self, NODE_PORT, PATH, PUBLISHED_HOST};
use crate::mocks;
use crate::platform::{Env, Platform};
use crate::report::{block, say};
use crate::scenarios::{Selection, Suite};

pub async fn walkthrough<P: Platform>(env: &Env, platform: &mut P, manifests: &Path) -> Result<()> {
    say(
        "\n1. Apply the article's manifests (Appendix 1-3, corrected) plus the controller and mocks:",
    );
    say(&format!("   $ kubectl apply -k {}", manifests.display()));
    {
        let mut suite = Suite::new(env, platform, manifests);
        suite
            .run(&Selection(Some(["apply".to_owned()].into())))
            .await;
        ensure!(suite.report.failed() == 0, "scenario 1 failed; see above");
    }

    say("\n2. The controller created this CDN rule in the Edgio mock:");
    let rules = mocks::rules(&env.edgio).await?;
    let rule = rules
        .iter()
        .find(|r| r.host == PUBLISHED_HOST && r.has_path(PATH))
        .context("the rule is gone")?;
    block(
        &format!(
            "GET {}/__admin/state (instance {})",
            env.edgio.base, rule.uuid
        ),
        &serde_json::to_string_pretty(&rule.raw["body"]).unwrap_or_default(),
    );

    say(&format!(
        "\n3. Its origin {} is a round-robin name in the Vultr mock's DNS:",
        env.origin
    ));
    let ips = mocks::resolve_a(env.dns, &env.origin).await?;
    block(
        &format!(
            "dig @{} -p {} {} A +short",
            env.dns.ip(),
            env.dns.port(),
            env.origin
        ),
        &ips.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n"),
    );

    say("\n4. The Ingress shows the published host:");
    let kc = env.kubeconfig.to_string_lossy().into_owned();
    let out = k8s::kubectl(&env.kubeconfig, &["get", "ingress", "-A"]).await?;
    block(&format!("kubectl --kubeconfig {kc} get ingress -A"), &out);

    say("\n5. pywai answers on its NodePort, and through the CDN edge with the published host:");
    if let Some(url) = env.node_url.url(NODE_PORT, "/") {
        curl(&url, None).await?;
    }
    curl(&format!("{}{PATH}", env.edge), Some(PUBLISHED_HOST)).await?;
    say(
        "   The second answer shows what the CDN added: X-Forwarded-For, X-Forwarded-Host, Via and",
    );
    say("   the controller's ownership header X-Edgio-Ingress-Owner.");
    Ok(())
}

/// Runs the real `curl` when it is installed (else the same GET through reqwest) and prints
/// the command and its output.
async fn curl(url: &str, host: Option<&str>) -> Result<()> {
    let mut args: Vec<String> = vec!["-sS".into(), "-i".into()];
    if let Some(h) = host {
        args.push("-H".into());
        args.push(format!("Host: {h}"));
    }
    args.push(url.to_owned());
    let shown = format!(
        "curl {}",
        args.iter()
            .map(|a| if a.contains(' ') {
                format!("'{a}'")
            } else {
                a.clone()
            })
            .collect::<Vec<_>>()
            .join(" ")
    );
    let body = match tokio::process::Command::new("curl")
        .args(&args)
        .output()
        .await
    {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).into_owned(),
        _ => {
            let page = mocks::http_get(url, host).await?;
            format!("HTTP {}\n\n{}", page.status, page.body)
        }
    };
    block(&shown, &body);
    Ok(())
}
