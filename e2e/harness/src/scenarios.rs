//! The end-to-end scenarios of issue 6 (apply, edit, delete, restart, faults, bad Ingresses) and
//! the steady-state checks of issue 5 (resync writes nothing, `plan` writes nothing, two owners
//! share one account and zone). They run unchanged on every tier: everything tier-specific goes
//! through [`Env`] and [`Platform`]. Each assertion reads real state: the mocks' admin API, DNS
//! answers from the Vultr mock's DNS server, and HTTP through the NodePort and the CDN edge.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::networking::v1::{Ingress, IngressClass};
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use serde_json::{Value, json};

use crate::k8s::{self, INGRESS, NAMESPACE, NODE_PORT, PATH, PUBLISHED_HOST, SERVICE};
use crate::mocks::{self, LoggedRequest, Record, Rule};
use crate::platform::{Env, Platform, SecondController};
use crate::report::{self, Report};
use crate::wait;

/// How long convergence may take on a healthy tier.
const CONVERGE: Duration = Duration::from_secs(60);
/// How long convergence may take with faults injected (retries back off).
const CONVERGE_FAULTY: Duration = Duration::from_secs(150);
/// The header every rule of ours sends to the origin (`<owner>/<namespace>/<name>`).
pub const OWNER_HEADER: &str = "X-Edgio-Ingress-Owner";
/// Where the hand-made records live; no controller may touch them.
const HANDMADE_A: (&str, &str) = ("www", "192.0.2.80");
const HANDMADE_TXT: (&str, &str) = ("handmade", "made by hand, not by a controller");
const HANDMADE_RULE: (&str, &str) = ("handmade.s.llnwi.net", "/hand");
/// A second node's address for join/leave (TEST-NET-1: never routed, never dialled).
const EXTRA_NODE_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);
const EXTRA_NODE: &str = "e2e-extra-node";

/// One expected CDN rule of ours: (published host, path, source port).
type Want = (String, String, u16);

fn want(host: &str, path: &str, port: u16) -> Want {
    (host.to_owned(), path.to_owned(), port)
}

/// Which scenarios to run (all by default).
#[derive(Debug, Clone)]
pub struct Selection(pub Option<BTreeSet<String>>);

impl Selection {
    fn wants(&self, key: &str) -> bool {
        self.0.as_ref().is_none_or(|s| s.contains(key))
    }
}

/// The scenario keys, in the order they run.
pub const ALL: &[&str] = &[
    "apply",
    "steady-state",
    "plan",
    "edit",
    "bad",
    "restart",
    "faults",
    "two-owners",
    "drift",
    "delete",
];

/// Runs the scenario suite.
pub struct Suite<'a, P: Platform> {
    env: &'a Env,
    platform: &'a mut P,
    manifests: &'a Path,
    pub report: Report,
    handmade: Vec<Record>,
    /// The hand-made CDN rule: (uuid, revision).
    handmade_rule: Option<(String, i64)>,
    /// Rules a failed scenario left behind (by uuid): later scenarios ignore them, so one
    /// finding does not fail everything after it.
    leftovers: BTreeSet<String>,
    /// Set while the restart scenario has the controller stopped.
    controller_stopped: bool,
    /// Set by a scenario this tier cannot run: it is then neither passed nor failed.
    skipped: Option<String>,
}

impl<'a, P: Platform> Suite<'a, P> {
    pub fn new(env: &'a Env, platform: &'a mut P, manifests: &'a Path) -> Self {
        Self {
            env,
            platform,
            manifests,
            report: Report::new(),
            handmade: Vec::new(),
            handmade_rule: None,
            leftovers: BTreeSet::new(),
            controller_stopped: false,
            skipped: None,
        }
    }

    /// Runs the selected scenarios; the report holds the verdicts.
    pub async fn run(&mut self, selection: &Selection) {
        if let Err(e) = self.prepare().await {
            self.report.fail("prepare", &e);
            self.diagnose().await;
            return;
        }
        macro_rules! scenario {
            ($key:literal, $title:literal, $body:ident) => {
                if selection.wants($key) {
                    self.report.scenario($title);
                    // A scenario starts without faults whatever the previous one left.
                    let _ = self.env.edgio.clear_faults().await;
                    let _ = self.env.vultr.clear_faults().await;
                    match self.$body().await {
                        Ok(()) => match self.skipped.take() {
                            Some(why) => report::say(&format!("- {}: skipped ({why})", $title)),
                            None => self.report.pass($title),
                        },
                        Err(e) => {
                            self.report.fail($title, &e);
                            self.diagnose().await;
                            self.note_leftovers().await;
                        }
                    }
                }
            };
        }
        scenario!("apply", "scenario 1: apply the manifests", apply);
        scenario!(
            "steady-state",
            "steady state: a resync writes nothing",
            steady_state
        );
        scenario!("plan", "plan makes zero writes", plan);
        scenario!(
            "edit",
            "scenario 2: edit paths, hosts, ports, nodePort, nodes",
            edit
        );
        scenario!(
            "bad",
            "scenario 6: bad Ingresses get Warning Events",
            bad_ingresses
        );
        scenario!(
            "restart",
            "scenario 4: controller restart mid-work",
            restart
        );
        scenario!("faults", "scenario 5: faults in both mocks", faults);
        scenario!(
            "two-owners",
            "two owners share one account and zone",
            two_owners
        );
        scenario!("drift", "drift: rules changed by hand are repaired", drift);
        scenario!("delete", "scenario 3: delete", delete);
        let _ = self.env.edgio.clear_faults().await;
        let _ = self.env.vultr.clear_faults().await;
    }

    /// Records made by hand through the Vultr API before anything runs; every scenario that
    /// deletes or garbage-collects must leave them alone.
    async fn prepare(&mut self) -> Result<()> {
        self.report
            .scenario("prepare: a hand-made CDN rule and hand-made DNS records");
        let existing = mocks::records(&self.env.vultr, &self.env.zone).await?;
        for (kind, (name, data)) in [("A", HANDMADE_A), ("TXT", HANDMADE_TXT)] {
            if existing.iter().any(|r| r.kind == kind && r.name == name) {
                continue;
            }
            let data = if kind == "TXT" {
                format!("\"{data}\"")
            } else {
                data.to_owned()
            };
            let url = format!("{}/domains/{}/records", self.env.vultr_api, self.env.zone);
            let resp = reqwest::Client::new()
                .post(&url)
                .bearer_auth(&self.env.vultr_key)
                .json(&json!({"name": name, "type": kind, "data": data, "ttl": 300}))
                .send()
                .await
                .with_context(|| format!("POST {url}"))?;
            let status = resp.status();
            ensure!(
                status.is_success(),
                "creating the hand-made {kind} record: {status} {}",
                resp.text().await.unwrap_or_default()
            );
        }
        self.handmade = self.handmade_records().await?;
        ensure!(
            self.handmade.len() == 2,
            "expected 2 hand-made records, found {:?}",
            self.handmade
        );
        for r in &self.handmade {
            report::ok(&format!("hand-made record {r}"));
        }
        let (host, path) = HANDMADE_RULE;
        let existing = mocks::rules(&self.env.edgio).await?;
        let rule = match existing.iter().find(|r| r.host == host && r.has_path(path)) {
            Some(r) => r.clone(),
            None => {
                let uuid = self
                    .by_hand()?
                    .create(host, path, "handmade-origin.example.com", 8080)
                    .await?;
                let rules = mocks::rules(&self.env.edgio).await?;
                rules
                    .into_iter()
                    .find(|r| r.uuid == uuid)
                    .context("the hand-made rule vanished")?
            }
        };
        report::ok(&format!(
            "hand-made CDN rule {} (no ownership marker)",
            rule.short()
        ));
        self.handmade_rule = Some((rule.uuid, rule.version));
        Ok(())
    }

    fn by_hand(&self) -> Result<mocks::EdgioByHand> {
        let e = self.env;
        mocks::EdgioByHand::new(
            &e.edgio_api,
            &e.edgio_user,
            &e.edgio_key,
            &e.edgio_shortname,
        )
    }

    async fn handmade_records(&self) -> Result<Vec<Record>> {
        let mut out: Vec<Record> = mocks::records(&self.env.vultr, &self.env.zone)
            .await?
            .into_iter()
            .filter(|r| {
                (r.kind == "A" && r.name == HANDMADE_A.0)
                    || (r.kind == "TXT" && r.name == HANDMADE_TXT.0)
            })
            .collect();
        out.sort();
        Ok(out)
    }

    async fn check_handmade_untouched(&self) -> Result<()> {
        let now = self.handmade_records().await?;
        ensure!(
            now == self.handmade,
            "hand-made records changed: before {:?}, now {:?}",
            self.handmade,
            now
        );
        if let Some((uuid, version)) = &self.handmade_rule {
            let rules = mocks::rules(&self.env.edgio).await?;
            let now = rules.iter().find(|r| &r.uuid == uuid);
            ensure!(
                now.is_some_and(|r| r.version == *version),
                "the hand-made CDN rule {uuid} (v{version}) was touched: now {:?}",
                now.map(Rule::short)
            );
        }
        report::ok("hand-made records and CDN rule untouched (same ids, data, revision)");
        Ok(())
    }

    // ---------------------------------------------------------------- drift

    async fn drift(&mut self) -> Result<()> {
        // A resync must notice: allow two periods on top of the usual convergence time.
        let timeout = CONVERGE.max(self.env.resync * 2 + Duration::from_secs(15));
        let base = want(PUBLISHED_HOST, PATH, NODE_PORT);
        let ours = self
            .wait_rules(std::slice::from_ref(&base), CONVERGE)
            .await?;
        let by_hand = self.by_hand()?;
        by_hand.set_source_port(&ours[0].uuid, 9999).await?;
        report::ok(&format!(
            "edited our rule by hand: {} now sends to port 9999",
            ours[0].uuid
        ));
        let repaired = self
            .wait_rules(std::slice::from_ref(&base), timeout)
            .await?;
        report::ok(&format!("resync repaired it: {}", repaired[0].short()));
        by_hand.delete(&repaired[0].uuid).await?;
        report::ok(&format!("deleted our rule {} by hand", repaired[0].uuid));
        let recreated = self
            .wait_rules(std::slice::from_ref(&base), timeout)
            .await?;
        ensure!(
            recreated[0].uuid != repaired[0].uuid,
            "the deleted rule came back with its old uuid"
        );
        report::ok(&format!("resync recreated it: {}", recreated[0].short()));
        self.check_edge(PUBLISHED_HOST, PATH).await?;
        self.check_handmade_untouched().await
    }

    // ---------------------------------------------------------------- scenario 1

    async fn apply(&mut self) -> Result<()> {
        let out = k8s::kubectl(
            &self.env.kubeconfig,
            &["apply", "-k", &self.manifests.to_string_lossy()],
        )
        .await?;
        report::ok(&format!(
            "kubectl apply -k {} ({} objects)",
            self.manifests.display(),
            out.lines().count()
        ));
        self.platform.manifests_applied().await?;

        let ing = self
            .wait_ingress_published(INGRESS, &[PUBLISHED_HOST])
            .await?;
        report::ok(&format!(
            "Ingress status shows {PUBLISHED_HOST}; finalizer {} present",
            k8s::FINALIZER
        ));
        drop(ing);

        let rules = self
            .wait_rules(&[want(PUBLISHED_HOST, PATH, NODE_PORT)], CONVERGE)
            .await?;
        let rule = &rules[0];
        report::ok(&format!("CDN rule {}", rule.short()));
        let marker = format!("{}/{NAMESPACE}/{INGRESS}", self.env.owner_id);
        ensure!(
            rule.sent_headers
                .iter()
                .any(|(n, v)| n.eq_ignore_ascii_case(OWNER_HEADER) && v == &marker),
            "rule has no ownership header {OWNER_HEADER}: {marker}; headers {:?}",
            rule.sent_headers
        );
        report::ok(&format!(
            "ownership marker on the rule: {OWNER_HEADER}: {marker}"
        ));

        let ips = self
            .wait_origin(&self.env.origin.clone(), &self.env.owner_id.clone(), None)
            .await?;
        report::ok(&format!(
            "{} resolves to {} (real DNS answer)",
            self.env.origin,
            mocks::show_ips(&ips)
        ));

        self.check_node_port(NODE_PORT, "/").await?;
        self.check_edge(PUBLISHED_HOST, PATH).await?;
        self.check_handmade_untouched().await
    }

    /// Waits until an Ingress carries our finalizer and shows exactly `hosts` in its status.
    async fn wait_ingress_published(&self, name: &str, hosts: &[&str]) -> Result<Ingress> {
        let api = k8s::ingresses(&self.env.client, NAMESPACE);
        let want: BTreeSet<String> = hosts.iter().map(|h| (*h).to_owned()).collect();
        wait::until(&format!("Ingress {name} published"), CONVERGE, || async {
            let ing = api.get(name).await.map_err(|e| e.to_string())?;
            let shown = k8s::status_hosts(&ing);
            if !k8s::has_finalizer(&ing) {
                return Err(format!(
                    "no finalizer yet (finalizers {:?})",
                    ing.metadata.finalizers
                ));
            }
            if shown != want {
                return Err(format!("status hosts {shown:?}, want {want:?}"));
            }
            Ok(ing)
        })
        .await
    }

    /// After a failure: our rules other than the manifests' one are remembered and ignored from
    /// now on (the failure already reported them).
    async fn note_leftovers(&mut self) {
        // Give the failed scenario's cleanup a moment to converge before judging what is left.
        let _ = self
            .wait_rules(
                &[want(PUBLISHED_HOST, PATH, NODE_PORT)],
                Duration::from_secs(15),
            )
            .await;
        let Ok(rules) = self.our_rules(&self.env.owner_id).await else {
            return;
        };
        for r in rules {
            if !(r.host == PUBLISHED_HOST && r.has_path(PATH))
                && self.leftovers.insert(r.uuid.clone())
            {
                report::note(&format!(
                    "ignoring leftover rule {} in later scenarios",
                    r.short()
                ));
            }
        }
    }

    /// Our rules (those whose ownership header names our owner id).
    async fn our_rules(&self, owner: &str) -> Result<Vec<Rule>> {
        let prefix = format!("{owner}/");
        Ok(mocks::rules(&self.env.edgio)
            .await?
            .into_iter()
            .filter(|r| !self.leftovers.contains(&r.uuid))
            .filter(|r| {
                r.sent_headers
                    .iter()
                    .any(|(n, v)| n.eq_ignore_ascii_case(OWNER_HEADER) && v.starts_with(&prefix))
            })
            .collect())
    }

    /// Waits until our rules are exactly `wanted` (no duplicate, no orphan), each pointing at the
    /// origin hostname and its nodePort; returns them in `wanted` order.
    async fn wait_rules(&self, wanted: &[Want], timeout: Duration) -> Result<Vec<Rule>> {
        self.wait_owner_rules(&self.env.owner_id, &self.env.origin, wanted, timeout)
            .await
    }

    async fn wait_owner_rules(
        &self,
        owner: &str,
        origin: &str,
        wanted: &[Want],
        timeout: Duration,
    ) -> Result<Vec<Rule>> {
        let mut want_sorted: Vec<Want> = wanted.to_vec();
        want_sorted.sort();
        wait::until(
            &format!("CDN rules of {owner} to be {wanted:?}"),
            timeout,
            || async {
                let rules = self.our_rules(owner).await.map_err(|e| e.to_string())?;
                let mut have: Vec<Want> = Vec::new();
                for r in &rules {
                    if r.source_host != origin {
                        return Err(format!(
                            "rule {} has source {}, want {origin}",
                            r.short(),
                            r.source_host
                        ));
                    }
                    let ports: BTreeSet<Option<i64>> = r.source_ports.iter().copied().collect();
                    let [Some(port)] = ports.into_iter().collect::<Vec<_>>()[..] else {
                        return Err(format!(
                            "rule {} has source ports {:?}",
                            r.short(),
                            r.source_ports
                        ));
                    };
                    let path = r.path.clone();
                    have.push((r.host.clone(), path, u16::try_from(port).unwrap_or(0)));
                }
                have.sort();
                let matches = have.len() == want_sorted.len()
                    && have.iter().zip(&want_sorted).all(|(h, w)| {
                        h.0 == w.0
                            && h.1.trim_end_matches('/') == w.1.trim_end_matches('/')
                            && h.2 == w.2
                    });
                if !matches {
                    return Err(format!("have {have:?}"));
                }
                let ordered = wanted
                    .iter()
                    .filter_map(|w| {
                        rules
                            .iter()
                            .find(|r| r.host == w.0 && r.has_path(&w.1))
                            .cloned()
                    })
                    .collect();
                Ok(ordered)
            },
        )
        .await
    }

    /// Waits until the origin name has one A record per expected address (the Ready nodes'
    /// InternalIPs unless given), an ownership TXT naming `owner`, and DNS answers the same.
    async fn wait_origin(
        &self,
        origin: &str,
        owner: &str,
        expected: Option<BTreeSet<Ipv4Addr>>,
    ) -> Result<BTreeSet<Ipv4Addr>> {
        let expected = match expected {
            Some(e) => e,
            None => k8s::ready_node_ips(&self.env.client, &self.env.node_address_types).await?,
        };
        let name = mocks::relative_name(origin, &self.env.zone);
        let env = self.env;
        wait::until(
            &format!("{origin} A records {}", mocks::show_ips(&expected)),
            CONVERGE,
            || {
                let (name, expected) = (name.clone(), expected.clone());
                async move {
                    let records = mocks::records(&env.vultr, &env.zone)
                        .await
                        .map_err(|e| e.to_string())?;
                    let a: BTreeSet<Ipv4Addr> = records
                        .iter()
                        .filter(|r| r.kind == "A" && r.name == name)
                        .filter_map(|r| r.data.parse().ok())
                        .collect();
                    let a_count = records
                        .iter()
                        .filter(|r| r.kind == "A" && r.name == name)
                        .count();
                    if a != expected || a_count != expected.len() {
                        return Err(format!("A records {a:?} ({a_count}), want {expected:?}"));
                    }
                    let owned = records.iter().any(|r| {
                        r.kind == "TXT"
                            && (r.name == name || r.name.ends_with(&format!(".{name}")))
                            && r.data.contains(owner)
                    });
                    if !expected.is_empty() && !owned {
                        return Err(format!("no ownership TXT naming {owner} for {name}"));
                    }
                    if expected.is_empty() && owned {
                        return Err(format!("ownership TXT for {name} still present"));
                    }
                    let answer = mocks::resolve_a(env.dns, origin)
                        .await
                        .map_err(|e| e.to_string())?;
                    if answer != expected {
                        return Err(format!("DNS answers {}", mocks::show_ips(&answer)));
                    }
                    Ok(answer)
                }
            },
        )
        .await
    }

    /// GET the NodePort directly: pywai's echo page.
    async fn check_node_port(&self, node_port: u16, path: &str) -> Result<()> {
        let Some(url) = self.env.node_url.url(node_port, path) else {
            report::note(&format!(
                "nodePort {node_port} is not reachable from here; traffic check skipped"
            ));
            return Ok(());
        };
        let page = wait::until(&format!("GET {url}"), CONVERGE, || async {
            let page = mocks::http_get(&url, None)
                .await
                .map_err(|e| format!("{e:#}"))?;
            if page.status != 200 {
                return Err(format!("status {}", page.status));
            }
            Ok(page)
        })
        .await?;
        ensure!(
            mocks::echo_has_header(&page.body, "host"),
            "NodePort answer is not an echo page: {}",
            page.body
        );
        report::ok(&format!(
            "curl {url} → 200, echo page ({} bytes)",
            page.body.len()
        ));
        Ok(())
    }

    /// GET through the CDN edge with the published host: the echo page shows what the CDN added.
    async fn check_edge(&self, host: &str, path: &str) -> Result<String> {
        let url = format!("{}{path}", self.env.edge);
        let page = wait::until(&format!("GET {url} (Host: {host})"), CONVERGE, || async {
            let page = mocks::http_get(&url, Some(host))
                .await
                .map_err(|e| format!("{e:#}"))?;
            if page.status != 200 {
                return Err(format!(
                    "status {}: {}",
                    page.status,
                    page.body.chars().take(300).collect::<String>()
                ));
            }
            Ok(page)
        })
        .await?;
        let marker = format!("{}/", self.env.owner_id);
        for needle in [
            "x-forwarded-for",
            "x-forwarded-host",
            "via",
            OWNER_HEADER,
            host,
            &marker,
        ] {
            ensure!(
                mocks::echo_has_header(&page.body, needle),
                "edge answer lacks `{needle}`: {}",
                page.body
            );
        }
        report::ok(&format!(
            "curl -H 'Host: {host}' {url} → 200, echo page shows X-Forwarded-For, X-Forwarded-Host, Via, {OWNER_HEADER}"
        ));
        Ok(page.body)
    }

    // ---------------------------------------------------------------- steady state and plan

    async fn steady_state(&mut self) -> Result<()> {
        self.wait_rules(&[want(PUBLISHED_HOST, PATH, NODE_PORT)], CONVERGE)
            .await?;
        // Start the window just after a resync, so start-up work cannot be mistaken for it.
        self.env.edgio.clear_requests().await?;
        let env = self.env;
        wait::until(
            "a resync (a list call to the Edgio mock)",
            self.env.resync * 2 + CONVERGE,
            || async {
                let log = env.edgio.requests().await.map_err(|e| e.to_string())?;
                if log.iter().any(edgio_list) {
                    Ok(())
                } else {
                    Err(format!("no list call yet ({} calls)", log.len()))
                }
            },
        )
        .await?;
        self.env.edgio.clear_requests().await?;
        self.env.vultr.clear_requests().await?;
        // Two full resync periods: long enough that at least one resync must have happened.
        let window = self.env.resync * 2 + Duration::from_secs(2);
        report::note(&format!(
            "watching the request logs for {}s (resync every {}s)",
            window.as_secs(),
            self.env.resync.as_secs()
        ));
        let env = self.env;
        wait::holds("no provider writes at steady state", window, || async {
            for mock in [&env.edgio, &env.vultr] {
                let log = mock.requests().await.map_err(|e| e.to_string())?;
                if let Some(w) = log.iter().find(|r| r.is_write()) {
                    return Err(format!("{} saw a write: {w}", mock.name));
                }
            }
            Ok(())
        })
        .await?;
        report::ok("zero writes to either provider");
        for (mock, is_list) in [
            (&self.env.edgio, edgio_list as fn(&LoggedRequest) -> bool),
            (&self.env.vultr, vultr_list as fn(&LoggedRequest) -> bool),
        ] {
            let log = mock.requests().await?;
            let lists: Vec<&LoggedRequest> = log.iter().filter(|r| is_list(r)).collect();
            ensure!(
                !lists.is_empty(),
                "{}: no list call in {}s: the resync did not run ({log:?})",
                mock.name,
                window.as_secs()
            );
            let bursts = bursts(&lists, self.env.resync / 2);
            let max = bursts.iter().map(Vec::len).max().unwrap_or(0);
            ensure!(
                max <= 1,
                "{}: {max} list calls in one resync: {}",
                mock.name,
                lists
                    .iter()
                    .map(|r| r.to_string())
                    .collect::<Vec<_>>()
                    .join("; ")
            );
            report::ok(&format!(
                "{}: {} resync(s), at most one list call each ({} calls in all)",
                mock.name,
                bursts.len(),
                log.len()
            ));
        }
        Ok(())
    }

    async fn plan(&mut self) -> Result<()> {
        self.env.edgio.clear_requests().await?;
        self.env.vultr.clear_requests().await?;
        let Some(output) = self.platform.run_plan().await? else {
            self.skipped = Some("this tier cannot run `edgio-ingress plan`".into());
            return Ok(());
        };
        report::block("edgio-ingress plan", &output);
        let mut reads = 0;
        for mock in [&self.env.edgio, &self.env.vultr] {
            let log = mock.requests().await?;
            if let Some(w) = log.iter().find(|r| r.is_write()) {
                bail!("plan wrote to {}: {w}", mock.name);
            }
            reads += log.len();
        }
        ensure!(
            reads > 0,
            "plan made no call to either provider: it cannot have compared anything"
        );
        report::ok(&format!("plan made {reads} reads and zero writes"));
        Ok(())
    }

    // ---------------------------------------------------------------- scenario 2

    async fn edit(&mut self) -> Result<()> {
        let client = &self.env.client;
        let original_ing = k8s::ingresses(client, NAMESPACE).get(INGRESS).await?;
        let original_rules =
            serde_json::to_value(original_ing.spec.as_ref().and_then(|s| s.rules.clone()))?;
        let svc = k8s::services(client, NAMESPACE).get(SERVICE).await?;
        let original_ports = serde_json::to_value(svc.spec.as_ref().and_then(|s| s.ports.clone()))?;
        let result = self.edit_steps().await;
        // Put the manifests' objects back whatever happened, so later scenarios start clean.
        k8s::patch_ingress_spec(client, INGRESS, json!({"rules": original_rules})).await?;
        k8s::patch_service_spec(client, SERVICE, json!({"ports": original_ports})).await?;
        let _ = k8s::delete_node(client, EXTRA_NODE).await;
        result?;
        self.wait_rules(&[want(PUBLISHED_HOST, PATH, NODE_PORT)], CONVERGE)
            .await?;
        self.check_edge(PUBLISHED_HOST, PATH).await?;
        report::ok("restored the manifests' Ingress and Service; back to the one /fred rule");
        Ok(())
    }

    async fn edit_steps(&mut self) -> Result<()> {
        let client = self.env.client.clone();
        let rules = |paths: Vec<Value>, second: bool| {
            let mut r = vec![json!({"host": PUBLISHED_HOST, "http": {"paths": paths}})];
            if second {
                r.push(json!({"host": "second.s.llnwi.net",
                    "http": {"paths": [k8s::path("/fred", SERVICE, "http")]}}));
            }
            json!({"rules": r})
        };

        // (a) change the path
        let before = self
            .wait_rules(&[want(PUBLISHED_HOST, PATH, NODE_PORT)], CONVERGE)
            .await?;
        k8s::patch_ingress_spec(
            &client,
            INGRESS,
            rules(vec![k8s::path("/barney", SERVICE, "http")], false),
        )
        .await?;
        let after = self
            .wait_rules(&[want(PUBLISHED_HOST, "/barney", NODE_PORT)], CONVERGE)
            .await?;
        report::ok(&format!(
            "path /fred → /barney: {} (was {})",
            after[0].short(),
            before[0].short()
        ));
        let barney = after[0].clone();

        // (b) add a path and a host
        k8s::patch_ingress_spec(
            &client,
            INGRESS,
            rules(
                vec![
                    k8s::path("/barney", SERVICE, "http"),
                    k8s::path("/wilma", SERVICE, "http"),
                ],
                true,
            ),
        )
        .await?;
        let three = [
            want(PUBLISHED_HOST, "/barney", NODE_PORT),
            want(PUBLISHED_HOST, "/wilma", NODE_PORT),
            want("second.s.llnwi.net", "/fred", NODE_PORT),
        ];
        let now = self.wait_rules(&three, CONVERGE).await?;
        ensure!(
            now[0].uuid == barney.uuid && now[0].version == barney.version,
            "the untouched /barney rule changed: {} → {}",
            barney.short(),
            now[0].short()
        );
        report::ok(
            "added /wilma and host second.s.llnwi.net: two new rules, /barney untouched (same uuid and revision)",
        );
        self.check_edge("second.s.llnwi.net", "/fred").await?;

        // (c) switch a backend port: a second named port on the Service, /wilma moves to it
        let svc = k8s::services(&client, NAMESPACE).get(SERVICE).await?;
        let mut ports = serde_json::to_value(svc.spec.and_then(|s| s.ports).unwrap_or_default())?;
        if let Some(list) = ports.as_array_mut() {
            list.push(json!({"name": "alt", "port": 81, "protocol": "TCP", "targetPort": 8000}));
        }
        k8s::patch_service_spec(&client, SERVICE, json!({"ports": ports})).await?;
        let alt = k8s::node_port(&client, SERVICE, "alt").await?;
        report::ok(&format!(
            "Service got a second port `alt` with nodePort {alt}"
        ));
        k8s::patch_ingress_spec(
            &client,
            INGRESS,
            rules(
                vec![
                    k8s::path("/barney", SERVICE, "http"),
                    k8s::path("/wilma", SERVICE, "alt"),
                ],
                true,
            ),
        )
        .await?;
        let switched = [
            want(PUBLISHED_HOST, "/barney", NODE_PORT),
            want(PUBLISHED_HOST, "/wilma", alt),
            want("second.s.llnwi.net", "/fred", NODE_PORT),
        ];
        let after_switch = self.wait_rules(&switched, CONVERGE).await?;
        for (old, new) in [(&now[0], &after_switch[0]), (&now[2], &after_switch[2])] {
            ensure!(
                old.uuid == new.uuid && old.version == new.version,
                "a rule whose backend did not change was touched: {} → {}",
                old.short(),
                new.short()
            );
        }
        report::ok(&format!(
            "/wilma now → nodePort {alt}; the other two rules untouched"
        ));
        self.check_node_port(alt, "/").await?;
        self.check_edge(PUBLISHED_HOST, "/wilma").await?;

        // (d) the nodePort of `http` changes: every rule on it follows, /wilma does not move
        let moved = 30180;
        let svc = k8s::services(&client, NAMESPACE).get(SERVICE).await?;
        let mut ports = serde_json::to_value(svc.spec.and_then(|s| s.ports).unwrap_or_default())?;
        for p in ports.as_array_mut().into_iter().flatten() {
            if p.get("name").and_then(Value::as_str) == Some("http") {
                p["nodePort"] = json!(moved);
            }
        }
        k8s::patch_service_spec(&client, SERVICE, json!({"ports": ports})).await?;
        let moved_rules = [
            want(PUBLISHED_HOST, "/barney", moved),
            want(PUBLISHED_HOST, "/wilma", alt),
            want("second.s.llnwi.net", "/fred", moved),
        ];
        let after_move = self.wait_rules(&moved_rules, CONVERGE).await?;
        ensure!(
            after_move[1].uuid == after_switch[1].uuid
                && after_move[1].version == after_switch[1].version,
            "/wilma (on `alt`) was touched by a change to `http`: {} → {}",
            after_switch[1].short(),
            after_move[1].short()
        );
        report::ok(&format!(
            "nodePort {NODE_PORT} → {moved}: /barney and second.s.llnwi.net/fred followed, /wilma untouched"
        ));
        self.check_node_port(moved, "/").await?;
        self.check_edge(PUBLISHED_HOST, "/barney").await?;

        // (e) a node joins and leaves
        if !self.platform.fake_nodes_are_real() {
            report::note("this tier has real kubelets: node join/leave skipped");
            return Ok(());
        }
        let base_ips = k8s::ready_node_ips(&client, &self.env.node_address_types).await?;
        let records_before = self.origin_records(&self.env.origin).await?;
        k8s::register_node(&client, EXTRA_NODE, EXTRA_NODE_IP.into()).await?;
        let mut joined = base_ips.clone();
        joined.insert(EXTRA_NODE_IP);
        let ips = self
            .wait_origin(
                &self.env.origin.clone(),
                &self.env.owner_id.clone(),
                Some(joined),
            )
            .await?;
        let records_joined = self.origin_records(&self.env.origin).await?;
        for r in &records_before {
            ensure!(
                records_joined.iter().any(|n| n.id == r.id),
                "joining a node replaced the existing record {r} (create before delete, keep what is right)"
            );
        }
        report::ok(&format!(
            "node {EXTRA_NODE} ({EXTRA_NODE_IP}) joined: DNS answers {}",
            mocks::show_ips(&ips)
        ));
        k8s::delete_node(&client, EXTRA_NODE).await?;
        let ips = self
            .wait_origin(
                &self.env.origin.clone(),
                &self.env.owner_id.clone(),
                Some(base_ips),
            )
            .await?;
        report::ok(&format!(
            "node {EXTRA_NODE} left: DNS answers {}",
            mocks::show_ips(&ips)
        ));
        Ok(())
    }

    async fn origin_records(&self, origin: &str) -> Result<Vec<Record>> {
        let name = mocks::relative_name(origin, &self.env.zone);
        Ok(mocks::records(&self.env.vultr, &self.env.zone)
            .await?
            .into_iter()
            .filter(|r| r.kind == "A" && r.name == name)
            .collect())
    }

    // ---------------------------------------------------------------- scenario 6

    async fn bad_ingresses(&mut self) -> Result<()> {
        let client = self.env.client.clone();
        let services: Api<Service> = k8s::services(&client, NAMESPACE);
        let clusterip: Service = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "e2e-clusterip", "namespace": NAMESPACE},
            "spec": {"type": "ClusterIP", "selector": {"app": "pywai-inline-deployment"},
                "ports": [{"name": "http", "port": 80, "targetPort": 8000}]}
        }))?;
        if services.get_opt("e2e-clusterip").await?.is_none() {
            services
                .create(&PostParams::default(), &clusterip)
                .await
                .context("create ClusterIP service")?;
        }
        // The article's Appendix 3 almost verbatim: class by annotation and label, pathType
        // Exact, and a port name that the Service does not have.
        let article: Ingress = serde_json::from_value(json!({
            "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": "bad-article-port-name", "namespace": NAMESPACE,
                "annotations": {"kubernetes.io/ingress.class": "edgio"},
                "labels": {"cdn": "edgio"}},
            "spec": {"rules": [{"host": "bad2.s.llnwi.net", "http": {"paths": [{
                "path": "/fred", "pathType": "Exact",
                "backend": {"service": {"name": SERVICE, "port": {"name": "pywai-port"}}}}]}}]}
        }))?;
        let bad: Vec<(Ingress, &str)> = vec![
            (
                k8s::ingress(
                    "bad-missing-service",
                    &[("bad1.s.llnwi.net", &[("/x", "no-such-service", "http")])],
                )?,
                "missing Service",
            ),
            (
                article,
                "port name pywai-port does not exist (the article's YAML)",
            ),
            (
                k8s::ingress(
                    "bad-not-nodeport",
                    &[("bad3.s.llnwi.net", &[("/x", "e2e-clusterip", "http")])],
                )?,
                "Service is ClusterIP",
            ),
            (
                k8s::ingress("bad-no-host", &[("", &[("/nohost", SERVICE, "http")])])?,
                "rule with no host",
            ),
        ];
        let good = k8s::ingress(
            "good-alongside",
            &[("good.s.llnwi.net", &[("/good", SERVICE, "http")])],
        )?;
        let result = self.bad_steps(&bad, &good).await;
        for (ing, _) in &bad {
            k8s::delete_ingress(&client, ing.metadata.name.as_deref().unwrap_or_default()).await?;
        }
        k8s::delete_ingress(&client, "good-alongside").await?;
        let _ = services
            .delete("e2e-clusterip", &DeleteParams::default())
            .await;
        result?;
        for (ing, _) in &bad {
            self.wait_gone(ing.metadata.name.as_deref().unwrap_or_default())
                .await?;
        }
        self.wait_gone("good-alongside").await?;
        self.wait_rules(&[want(PUBLISHED_HOST, PATH, NODE_PORT)], CONVERGE)
            .await?;
        report::ok("deleted them all: only the /fred rule remains");
        Ok(())
    }

    async fn bad_steps(&mut self, bad: &[(Ingress, &str)], good: &Ingress) -> Result<()> {
        let client = self.env.client.clone();
        for (ing, _) in bad {
            k8s::create_ingress(&client, ing).await?;
        }
        k8s::create_ingress(&client, good).await?;
        report::ok("created 4 bad Ingresses and a good one alongside");
        for (ing, why) in bad {
            let name = ing.metadata.name.clone().unwrap_or_default();
            let events = wait::until(&format!("a Warning Event on {name}"), CONVERGE, || async {
                let events = k8s::events_for(&client, NAMESPACE, "Ingress", &name)
                    .await
                    .map_err(|e| e.to_string())?;
                let warnings: Vec<_> = events.into_iter().filter(|e| e.kind == "Warning").collect();
                if warnings.is_empty() {
                    Err("no Warning Event yet".to_owned())
                } else {
                    Ok(warnings)
                }
            })
            .await?;
            report::ok(&format!(
                "{name} ({why}): Warning {} — {}",
                events[0].reason, events[0].note
            ));
        }
        self.wait_ingress_published("good-alongside", &["good.s.llnwi.net"])
            .await?;
        self.wait_rules(
            &[
                want(PUBLISHED_HOST, PATH, NODE_PORT),
                want("good.s.llnwi.net", "/good", NODE_PORT),
            ],
            CONVERGE,
        )
        .await?;
        report::ok("the good Ingress is published; no rule exists for any bad one");
        self.check_edge("good.s.llnwi.net", "/good").await?;
        Ok(())
    }

    /// Waits until an Ingress no longer exists (its finalizer was released).
    async fn wait_gone(&self, name: &str) -> Result<()> {
        let api = k8s::ingresses(&self.env.client, NAMESPACE);
        wait::until(&format!("Ingress {name} to be gone"), CONVERGE, || async {
            match api.get_opt(name).await {
                Ok(None) => Ok(()),
                Ok(Some(ing)) => Err(format!(
                    "still there (deletionTimestamp {:?}, finalizers {:?})",
                    ing.metadata.deletion_timestamp, ing.metadata.finalizers
                )),
                Err(e) => Err(e.to_string()),
            }
        })
        .await
    }

    // ---------------------------------------------------------------- scenario 4

    async fn restart(&mut self) -> Result<()> {
        let names = ["restart-1", "restart-2", "restart-3", "restart-4"];
        let result = self.restart_steps(&names).await;
        // Whatever happened: no faults, a running controller, no test Ingress left.
        self.env.edgio.clear_faults().await?;
        if self.controller_stopped {
            self.platform.start_controller().await?;
            self.controller_stopped = false;
        }
        let client = self.env.client.clone();
        for name in names {
            k8s::delete_ingress(&client, name).await?;
        }
        result?;
        for name in names {
            self.wait_gone(name).await?;
        }
        self.wait_rules(&[want(PUBLISHED_HOST, PATH, NODE_PORT)], CONVERGE)
            .await?;
        report::ok("cleaned up");
        Ok(())
    }

    async fn restart_steps(&mut self, names: &[&str]) -> Result<()> {
        let client = self.env.client.clone();
        let base = want(PUBLISHED_HOST, PATH, NODE_PORT);
        self.wait_rules(std::slice::from_ref(&base), CONVERGE)
            .await?;
        // Slow the CDN down so the kill lands while the controller is part-way through.
        self.env
            .edgio
            .set_faults(&json!({"latency_ms": 400}))
            .await?;
        self.env.edgio.clear_requests().await?;
        for (i, name) in names.iter().enumerate() {
            let host = format!("r{}.s.llnwi.net", i + 1);
            k8s::create_ingress(
                &client,
                &k8s::ingress(name, &[(host.as_str(), &[("/r", SERVICE, "http")])])?,
            )
            .await?;
        }
        let env = self.env;
        wait::until("the controller's first CDN write", CONVERGE, || async {
            let log = env.edgio.requests().await.map_err(|e| e.to_string())?;
            if log.iter().any(|r| r.method == "POST") {
                Ok(())
            } else {
                Err("no POST yet".to_owned())
            }
        })
        .await?;
        if !self.platform.stop_controller().await? {
            self.skipped = Some("this tier cannot stop the controller".into());
            return Ok(());
        }
        self.controller_stopped = true;
        let partial = self.our_rules(&self.env.owner_id).await?;
        report::ok(&format!(
            "killed the controller mid-work ({} of our rules existed)",
            partial.len()
        ));
        // While it is down: one delete it must finish, one whose finalizer a human removed.
        k8s::delete_ingress(&client, "restart-1").await?;
        k8s::delete_ingress(&client, "restart-2").await?;
        k8s::strip_finalizers(&client, "restart-2").await?;
        report::ok("while down: deleted restart-1, deleted restart-2 and stripped its finalizer");
        self.env.edgio.clear_faults().await?;
        self.platform.start_controller().await?;
        self.controller_stopped = false;
        report::ok("controller started again");
        self.wait_gone("restart-1").await?;
        self.wait_gone("restart-2").await?;
        report::ok("restart-1 finished deleting; restart-2 is gone");
        self.wait_rules(
            &[
                base,
                want("r3.s.llnwi.net", "/r", NODE_PORT),
                want("r4.s.llnwi.net", "/r", NODE_PORT),
            ],
            CONVERGE,
        )
        .await?;
        report::ok(
            "exactly one rule each for restart-3 and restart-4, none for restart-1/2: no duplicate, no orphan",
        );
        self.wait_origin(&self.env.origin.clone(), &self.env.owner_id.clone(), None)
            .await?;
        Ok(())
    }

    // ---------------------------------------------------------------- scenario 5

    async fn faults(&mut self) -> Result<()> {
        let client = self.env.client.clone();
        let base = want(PUBLISHED_HOST, PATH, NODE_PORT);
        self.wait_rules(std::slice::from_ref(&base), CONVERGE)
            .await?;
        let faults = json!({"error_rate": {"*": 0.15}, "burst_429": 3, "retry_after_secs": 1, "latency_ms": 50});
        self.env.edgio.clear_requests().await?;
        self.env.vultr.clear_requests().await?;
        self.env.edgio.set_faults(&faults).await?;
        self.env.vultr.set_faults(&faults).await?;
        report::ok(&format!("faults on both mocks: {faults}"));
        let result = self.fault_steps(&base).await;
        self.env.edgio.clear_faults().await?;
        self.env.vultr.clear_faults().await?;
        let _ = k8s::delete_node(&client, EXTRA_NODE).await;
        for name in ["fault-1", "fault-2", "fault-3"] {
            k8s::delete_ingress(&client, name).await?;
        }
        result?;
        for name in ["fault-1", "fault-2", "fault-3"] {
            self.wait_gone(name).await?;
        }
        self.wait_rules(&[base], CONVERGE).await?;
        self.wait_origin(&self.env.origin.clone(), &self.env.owner_id.clone(), None)
            .await?;
        report::ok("faults cleared and test Ingresses removed: back to the one /fred rule");
        Ok(())
    }

    async fn fault_steps(&mut self, base: &Want) -> Result<()> {
        let client = self.env.client.clone();
        for (i, name) in ["fault-1", "fault-2", "fault-3"].iter().enumerate() {
            let host = format!("f{}.s.llnwi.net", i + 1);
            k8s::create_ingress(
                &client,
                &k8s::ingress(name, &[(host.as_str(), &[("/f", SERVICE, "http")])])?,
            )
            .await?;
        }
        k8s::patch_ingress_spec(
            &client,
            "fault-1",
            json!({"rules": [{"host": "f1.s.llnwi.net",
            "http": {"paths": [k8s::path("/f-edited", SERVICE, "http")]}}]}),
        )
        .await?;
        k8s::delete_ingress(&client, "fault-2").await?;
        report::ok("created fault-1..3, edited fault-1's path, deleted fault-2");
        let mut expected_ips = k8s::ready_node_ips(&client, &self.env.node_address_types).await?;
        if self.platform.fake_nodes_are_real() {
            k8s::register_node(&client, EXTRA_NODE, EXTRA_NODE_IP.into()).await?;
            expected_ips.insert(EXTRA_NODE_IP);
            report::ok(&format!(
                "node {EXTRA_NODE} joined (a DNS change under faults)"
            ));
        }
        self.wait_rules(
            &[
                base.clone(),
                want("f1.s.llnwi.net", "/f-edited", NODE_PORT),
                want("f3.s.llnwi.net", "/f", NODE_PORT),
            ],
            CONVERGE_FAULTY,
        )
        .await?;
        self.wait_gone("fault-2").await?;
        report::ok("CDN rules converged despite the faults");
        let ips = self
            .wait_origin(
                &self.env.origin.clone(),
                &self.env.owner_id.clone(),
                Some(expected_ips),
            )
            .await?;
        report::ok(&format!(
            "DNS converged despite the faults: {}",
            mocks::show_ips(&ips)
        ));
        let mut injected = 0;
        for mock in [&self.env.edgio, &self.env.vultr] {
            let log = mock.requests().await?;
            let failed = log
                .iter()
                .filter(|r| r.status.is_some_and(|s| s == 429 || s >= 500))
                .count();
            report::note(&format!(
                "{}: {failed} of {} calls got an injected 429/5xx",
                mock.name,
                log.len()
            ));
            injected += failed;
        }
        ensure!(
            injected > 0,
            "no call got an injected error: the faults were not exercised"
        );
        self.check_handmade_untouched().await
    }

    // ---------------------------------------------------------------- two owners

    async fn two_owners(&mut self) -> Result<()> {
        let client = self.env.client.clone();
        let second = SecondController {
            owner_id: "second-owner".to_owned(),
            class: "edgio-second".to_owned(),
            controller_name: "edgio-ingress.dev/controller-second".to_owned(),
            origin: format!("origin-second.{}", self.env.zone),
        };
        let base = want(PUBLISHED_HOST, PATH, NODE_PORT);
        let ours_before = self
            .wait_rules(std::slice::from_ref(&base), CONVERGE)
            .await?;
        let records_before = self.origin_records(&self.env.origin).await?;
        let classes: Api<IngressClass> = Api::all(client.clone());
        let class: IngressClass = serde_json::from_value(json!({
            "apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
            "metadata": {"name": second.class}, "spec": {"controller": second.controller_name}
        }))?;
        if classes.get_opt(&second.class).await?.is_none() {
            classes
                .create(&PostParams::default(), &class)
                .await
                .context("create second IngressClass")?;
        }
        if !self.platform.start_second_controller(&second).await? {
            self.skipped = Some("this tier cannot start a second controller".into());
            let _ = classes
                .delete(&second.class, &DeleteParams::default())
                .await;
            return Ok(());
        }
        report::ok(&format!(
            "second controller running: owner {}, class {}, origin {}",
            second.owner_id, second.class, second.origin
        ));
        let result = self
            .two_owner_steps(&second, &ours_before, &records_before)
            .await;
        k8s::delete_ingress(&client, "second-owner-ingress").await?;
        let cleanup = self.wait_gone("second-owner-ingress").await;
        self.platform.stop_second_controller().await?;
        let _ = classes
            .delete(&second.class, &DeleteParams::default())
            .await;
        result?;
        cleanup?;
        self.wait_owner_rules(&second.owner_id, &second.origin, &[], CONVERGE)
            .await?;
        self.wait_origin(&second.origin, &second.owner_id, Some(BTreeSet::new()))
            .await?;
        report::ok("second owner's Ingress deleted: its rule and records are gone");
        let ours_after = self
            .wait_rules(std::slice::from_ref(&base), CONVERGE)
            .await?;
        ensure!(
            ours_after[0].uuid == ours_before[0].uuid
                && ours_after[0].version == ours_before[0].version,
            "our rule changed while the other owner worked: {} → {}",
            ours_before[0].short(),
            ours_after[0].short()
        );
        let records_after = self.origin_records(&self.env.origin).await?;
        ensure!(
            same_records(&records_before, &records_after),
            "our records changed: {records_before:?} → {records_after:?}"
        );
        report::ok("our rule and records untouched throughout (same uuid, revision, record ids)");
        self.check_handmade_untouched().await
    }

    async fn two_owner_steps(
        &mut self,
        second: &SecondController,
        ours: &[Rule],
        records: &[Record],
    ) -> Result<()> {
        let client = self.env.client.clone();
        let mut ing = k8s::ingress(
            "second-owner-ingress",
            &[("second-owner.s.llnwi.net", &[("/b", SERVICE, "http")])],
        )?;
        if let Some(spec) = ing.spec.as_mut() {
            spec.ingress_class_name = Some(second.class.clone());
        }
        k8s::create_ingress(&client, &ing).await?;
        let theirs = self
            .wait_owner_rules(
                &second.owner_id,
                &second.origin,
                &[want("second-owner.s.llnwi.net", "/b", NODE_PORT)],
                CONVERGE,
            )
            .await?;
        report::ok(&format!("second owner's rule: {}", theirs[0].short()));
        let ips = self
            .wait_origin(&second.origin, &second.owner_id, None)
            .await?;
        report::ok(&format!(
            "{} resolves to {}",
            second.origin,
            mocks::show_ips(&ips)
        ));
        // Give both controllers a full resync to misbehave, then compare.
        let env = self.env;
        let ours = ours.to_vec();
        let records = records.to_vec();
        let owner = env.owner_id.clone();
        let leftovers = self.leftovers.clone();
        wait::holds(
            "the first owner's objects stay untouched",
            env.resync * 2 + Duration::from_secs(1),
            || {
                let (ours, records, owner, leftovers) = (
                    ours.clone(),
                    records.clone(),
                    owner.clone(),
                    leftovers.clone(),
                );
                async move {
                    let now: Vec<Rule> = mocks::rules(&env.edgio)
                        .await
                        .map_err(|e| e.to_string())?
                        .into_iter()
                        .filter(|r| {
                            r.mentions(&format!("{owner}/")) && !leftovers.contains(&r.uuid)
                        })
                        .collect();
                    if now.len() != ours.len()
                        || now
                            .iter()
                            .zip(&ours)
                            .any(|(a, b)| a.uuid != b.uuid || a.version != b.version)
                    {
                        return Err(format!(
                            "our rules changed: {:?}",
                            now.iter().map(Rule::short).collect::<Vec<_>>()
                        ));
                    }
                    let name = mocks::relative_name(&env.origin, &env.zone);
                    let recs: Vec<Record> = mocks::records(&env.vultr, &env.zone)
                        .await
                        .map_err(|e| e.to_string())?
                        .into_iter()
                        .filter(|r| r.kind == "A" && r.name == name)
                        .collect();
                    if !same_records(&records, &recs) {
                        return Err(format!("our records changed: {recs:?}"));
                    }
                    let ing = k8s::ingresses(&env.client, NAMESPACE)
                        .get(INGRESS)
                        .await
                        .map_err(|e| e.to_string())?;
                    if !k8s::has_finalizer(&ing)
                        || k8s::status_hosts(&ing) != BTreeSet::from([PUBLISHED_HOST.to_owned()])
                    {
                        return Err(format!(
                            "our Ingress {INGRESS} was touched: finalizers {:?}, status hosts {:?}",
                            ing.metadata.finalizers,
                            k8s::status_hosts(&ing)
                        ));
                    }
                    Ok(())
                }
            },
        )
        .await?;
        report::ok("both controllers resynced: neither touched the other's rules or records");
        self.check_handmade_untouched().await
    }

    // ---------------------------------------------------------------- scenario 3

    async fn delete(&mut self) -> Result<()> {
        let client = self.env.client.clone();
        self.wait_rules(&[want(PUBLISHED_HOST, PATH, NODE_PORT)], CONVERGE)
            .await?;
        k8s::delete_ingress(&client, INGRESS).await?;
        report::ok(&format!("deleted Ingress {INGRESS}"));
        self.wait_gone(INGRESS).await?;
        report::ok("finalizer released: the Ingress is gone");
        self.wait_rules(&[], CONVERGE).await?;
        report::ok("no CDN rule of ours remains");
        let ips = self
            .wait_origin(
                &self.env.origin.clone(),
                &self.env.owner_id.clone(),
                Some(BTreeSet::new()),
            )
            .await?;
        report::ok(&format!(
            "origin A records and ownership TXT removed; DNS answers {}",
            mocks::show_ips(&ips)
        ));
        let url = format!("{}{PATH}", self.env.edge);
        let page = mocks::http_get(&url, Some(PUBLISHED_HOST)).await?;
        ensure!(
            page.status != 200,
            "the edge still serves {PUBLISHED_HOST}{PATH}: {}",
            page.status
        );
        report::ok(&format!(
            "the edge no longer serves {PUBLISHED_HOST}{PATH} ({})",
            page.status
        ));
        self.check_handmade_untouched().await
    }

    // ---------------------------------------------------------------- diagnostics

    /// On failure: each mock's state, the Ingress events, the controller's log tail.
    pub async fn diagnose(&mut self) {
        match mocks::rules(&self.env.edgio).await {
            Ok(rules) => report::block(
                "edgio-mock rules",
                &rules
                    .iter()
                    .map(|r| format!("{} headers {:?}", r.short(), r.sent_headers))
                    .collect::<Vec<_>>()
                    .join("\n"),
            ),
            Err(e) => report::block("edgio-mock rules", &format!("unavailable: {e:#}")),
        }
        match mocks::records(&self.env.vultr, &self.env.zone).await {
            Ok(recs) => report::block(
                "vultr-mock records",
                &recs
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n"),
            ),
            Err(e) => report::block("vultr-mock records", &format!("unavailable: {e:#}")),
        }
        let api = k8s::ingresses(&self.env.client, NAMESPACE);
        let mut lines = Vec::new();
        if let Ok(list) = api.list(&ListParams::default()).await {
            for ing in list.items {
                let name = ing.metadata.name.clone().unwrap_or_default();
                lines.push(format!(
                    "Ingress {name}: finalizers {:?}, status {:?}, deleting {}",
                    ing.metadata.finalizers.clone().unwrap_or_default(),
                    k8s::status_hosts(&ing),
                    ing.metadata.deletion_timestamp.is_some()
                ));
                if let Ok(events) =
                    k8s::events_for(&self.env.client, NAMESPACE, "Ingress", &name).await
                {
                    lines.extend(events.iter().map(|e| format!("  {e}")));
                }
            }
        }
        report::block("Ingresses and their events", &lines.join("\n"));
        let tail = self.platform.controller_log_tail(40).await;
        report::block("controller log (tail)", &tail);
    }
}

fn edgio_list(r: &LoggedRequest) -> bool {
    r.method == "GET" && r.path.contains("/shortname/")
}

fn vultr_list(r: &LoggedRequest) -> bool {
    r.method == "GET" && (r.path.ends_with("/records") || r.path.ends_with("/domains"))
}

/// Groups calls whose timestamps are closer than `gap` (one resync's calls come together).
fn bursts<'r>(calls: &[&'r LoggedRequest], gap: Duration) -> Vec<Vec<&'r LoggedRequest>> {
    let mut timed: Vec<(i128, &LoggedRequest)> = calls
        .iter()
        .map(|r| {
            let t = r
                .time
                .as_deref()
                .and_then(|t| t.parse::<k8s_openapi::jiff::Timestamp>().ok())
                .map(|t| t.as_millisecond() as i128)
                .unwrap_or(0);
            (t, *r)
        })
        .collect();
    timed.sort_by_key(|(t, _)| *t);
    let gap = gap.as_millis() as i128;
    let mut out: Vec<Vec<&LoggedRequest>> = Vec::new();
    let mut last: Option<i128> = None;
    for (t, r) in timed {
        match (last, out.last_mut()) {
            (Some(prev), Some(group)) if t - prev < gap => group.push(r),
            _ => out.push(vec![r]),
        }
        last = Some(t);
    }
    out
}

fn same_records(a: &[Record], b: &[Record]) -> bool {
    let key = |v: &[Record]| {
        v.iter()
            .map(|r| (r.id.clone(), r.data.clone()))
            .collect::<BTreeMap<_, _>>()
    };
    key(a) == key(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(time: &str) -> LoggedRequest {
        LoggedRequest {
            method: "GET".into(),
            path: "/config-api/v1/svcinst/delivery/shortname/demo".into(),
            query: None,
            status: Some(200),
            time: Some(time.into()),
        }
    }

    #[test]
    fn calls_closer_than_the_gap_form_one_burst_and_distant_calls_separate_bursts() {
        let calls = [
            call("2026-11-23T01:00:00.000Z"),
            call("2026-11-23T01:00:00.300Z"),
            call("2026-11-23T01:00:04.000Z"),
        ];
        let refs: Vec<&LoggedRequest> = calls.iter().collect();
        let groups = bursts(&refs, Duration::from_secs(2));
        assert_eq!(groups.iter().map(Vec::len).collect::<Vec<_>>(), vec![2, 1]);
    }

    #[test]
    fn only_account_listings_count_as_edgio_lists_and_only_record_listings_as_vultr_lists() {
        assert!(edgio_list(&call("2026-11-23T01:00:00Z")));
        let get_one = LoggedRequest {
            path: "/config-api/v1/svcinst/delivery/abc".into(),
            ..call("x")
        };
        assert!(!edgio_list(&get_one));
        let records = LoggedRequest {
            path: "/v2/domains/example.com/records".into(),
            ..call("x")
        };
        assert!(vultr_list(&records));
        let post = LoggedRequest {
            method: "POST".into(),
            ..records.clone()
        };
        assert!(!vultr_list(&post));
    }

    #[test]
    fn records_compare_equal_only_with_the_same_ids_and_data() {
        let r = |id: &str, data: &str| Record {
            id: id.into(),
            kind: "A".into(),
            name: "origin".into(),
            data: data.into(),
            ttl: 60,
        };
        assert!(same_records(
            &[r("1", "10.0.0.1"), r("2", "10.0.0.2")],
            &[r("2", "10.0.0.2"), r("1", "10.0.0.1")]
        ));
        assert!(!same_records(&[r("1", "10.0.0.1")], &[r("3", "10.0.0.1")]));
        assert!(!same_records(&[r("1", "10.0.0.1")], &[r("1", "10.0.0.9")]));
    }
}
