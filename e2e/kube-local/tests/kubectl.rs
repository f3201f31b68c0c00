//! Conformance suite driven by the real kubectl (set KUBECTL to override the binary) against
//! the real kube-local binary.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::Server;

fn kubectl_bin() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("KUBECTL") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("kubectl"))
        .find(|p| p.is_file())
}

/// kubectl is an external tool; without it these tests cannot run, so they say so loudly.
macro_rules! require_kubectl {
    () => {
        match kubectl_bin() {
            Some(k) => k,
            None => {
                eprintln!("SKIPPED: kubectl not found on PATH (set KUBECTL)");
                return;
            }
        }
    };
}

struct Out {
    ok: bool,
    stdout: String,
    stderr: String,
}

fn run(kubectl: &Path, srv: &Server, args: &[&str]) -> Out {
    let out = Command::new(kubectl)
        .arg("--kubeconfig")
        .arg(&srv.kubeconfig)
        .arg("--cache-dir")
        .arg(srv.dir().join("cache"))
        .args(args)
        .output()
        .expect("run kubectl");
    Out {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn ok(kubectl: &Path, srv: &Server, args: &[&str]) -> String {
    let o = run(kubectl, srv, args);
    assert!(
        o.ok,
        "kubectl {args:?} failed:\nstdout: {}\nstderr: {}",
        o.stdout, o.stderr
    );
    assert!(
        !o.stderr.contains("Warning") && !o.stderr.contains("error"),
        "kubectl {args:?} stderr: {}",
        o.stderr
    );
    o.stdout
}

/// `kubectl get KIND NAME -n NS -o jsonpath=TEMPLATE`, asserted to succeed.
fn jsonpath(
    kubectl: &Path,
    srv: &Server,
    kind: &str,
    name: &str,
    ns: &str,
    template: &str,
) -> String {
    ok(
        kubectl,
        srv,
        &[
            "get",
            kind,
            name,
            "-n",
            ns,
            "-o",
            &format!("jsonpath={template}"),
        ],
    )
}

const APP: &str = r#"apiVersion: v1
kind: Namespace
metadata:
  name: kubectl
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata:
  name: edgio
  annotations:
    ingressclass.kubernetes.io/is-default-class: "true"
spec:
  controller: edgio-ingress.dev/controller
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: kubectl
  labels:
    app: pywai
spec:
  replicas: 1
  selector:
    matchLabels:
      app: pywai
  template:
    metadata:
      labels:
        app: pywai
    spec:
      containers:
      - name: app
        image: example/app:1.0
        ports:
        - containerPort: 8000
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: kubectl
spec:
  type: NodePort
  selector:
    app: pywai
  ports:
  - name: http
    port: 80
    targetPort: 8000
    nodePort: 30080
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
  namespace: kubectl
spec:
  rules:
  - host: web.example.com
    http:
      paths:
      - path: /fred
        pathType: Prefix
        backend:
          service:
            name: web
            port:
              number: 80
"#;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write manifest");
    p
}

fn apply_app(k: &Path, srv: &Server) -> PathBuf {
    let f = write(srv.dir(), "app.yaml", APP);
    ok(k, srv, &["apply", "-f", f.to_str().expect("path")]);
    f
}

#[test]
fn apply_creates_then_reports_unchanged_then_configured() {
    let k = require_kubectl!();
    let srv = Server::start(&[]);
    let f = write(srv.dir(), "app.yaml", APP);
    let path = f.to_str().expect("path");
    let first = ok(&k, &srv, &["apply", "-f", path]);
    for line in [
        "namespace/kubectl created",
        "ingressclass.networking.k8s.io/edgio created",
        "deployment.apps/web created",
        "service/web created",
        "ingress.networking.k8s.io/web created",
    ] {
        assert!(first.contains(line), "missing {line:?} in:\n{first}");
    }
    let second = ok(&k, &srv, &["apply", "-f", path]);
    assert!(
        second.contains("deployment.apps/web unchanged")
            && second.contains("ingress.networking.k8s.io/web unchanged"),
        "{second}"
    );
    write(
        srv.dir(),
        "app.yaml",
        &APP.replace("example/app:1.0", "example/app:1.1"),
    );
    let third = ok(&k, &srv, &["apply", "-f", path]);
    assert!(
        third.contains("deployment.apps/web configured") && third.contains("service/web unchanged"),
        "{third}"
    );
    let image = jsonpath(
        &k,
        &srv,
        "deploy",
        "web",
        "kubectl",
        "{.spec.template.spec.containers[0].image} {.metadata.generation}",
    );
    assert_eq!(image, "example/app:1.1 2");
    let class = jsonpath(
        &k,
        &srv,
        "ing",
        "web",
        "kubectl",
        "{.spec.ingressClassName}",
    );
    assert_eq!(class, "edgio", "default IngressClass admission");
    let np = jsonpath(
        &k,
        &srv,
        "svc",
        "web",
        "kubectl",
        "{.spec.ports[0].nodePort}",
    );
    assert_eq!(np, "30080");
}

#[test]
fn apply_k_renders_a_kustomization() {
    let k = require_kubectl!();
    let srv = Server::start(&[]);
    let dir = srv.dir().join("kustomize");
    std::fs::create_dir_all(&dir).expect("dir");
    write(&dir, "app.yaml", APP);
    write(
        &dir,
        "kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- app.yaml\nlabels:\n- pairs:\n    demo: kustomized\n",
    );
    let out = ok(&k, &srv, &["apply", "-k", dir.to_str().expect("path")]);
    assert!(
        out.contains("ingress.networking.k8s.io/web created"),
        "{out}"
    );
    let label = jsonpath(&k, &srv, "svc", "web", "kubectl", "{.metadata.labels.demo}");
    assert_eq!(label, "kustomized");
}

#[test]
fn server_side_apply_creates_and_reapplies() {
    let k = require_kubectl!();
    let srv = Server::start(&[]);
    let f = write(srv.dir(), "app.yaml", APP);
    let path = f.to_str().expect("path");
    let out = ok(&k, &srv, &["apply", "--server-side", "-f", path]);
    assert!(
        out.contains("deployment.apps/web serverside-applied")
            && out.contains("service/web serverside-applied"),
        "{out}"
    );
    let managers = ok(
        &k,
        &srv,
        &[
            "get",
            "ing",
            "web",
            "-n",
            "kubectl",
            "--show-managed-fields",
            "-o",
            "jsonpath={.metadata.managedFields[*].manager}",
        ],
    );
    assert_eq!(managers, "kubectl");
    write(srv.dir(), "app.yaml", &APP.replace("/fred", "/barney"));
    ok(&k, &srv, &["apply", "--server-side", "-f", path]);
    let p = jsonpath(
        &k,
        &srv,
        "ing",
        "web",
        "kubectl",
        "{.spec.rules[0].http.paths[0].path}",
    );
    assert_eq!(p, "/barney");
    // A client-side apply after the server-side one works too; kubectl warns, as it does
    // against any server, that the last-applied annotation was missing.
    write(srv.dir(), "app.yaml", &APP.replace("/fred", "/wilma"));
    let out = run(&k, &srv, &["apply", "-f", path]);
    assert!(
        out.ok
            && out
                .stdout
                .contains("ingress.networking.k8s.io/web configured"),
        "{}{}",
        out.stdout,
        out.stderr
    );
    assert!(
        out.stderr
            .contains("missing the kubectl.kubernetes.io/last-applied-configuration"),
        "{}",
        out.stderr
    );
    let p = jsonpath(
        &k,
        &srv,
        "ing",
        "web",
        "kubectl",
        "{.spec.rules[0].http.paths[0].path}",
    );
    assert_eq!(p, "/wilma");
}

#[test]
fn get_watch_prints_table_rows_as_the_ingress_changes() {
    let k = require_kubectl!();
    let srv = Server::start(&[]);
    apply_app(&k, &srv);
    let mut child = Command::new(&k)
        .arg("--kubeconfig")
        .arg(&srv.kubeconfig)
        .args([
            "get",
            "ingresses.v1.networking.k8s.io",
            "-n",
            "kubectl",
            "-w",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn kubectl get -w");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let next = |what: &str| {
        rx.recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| panic!("no {what} line within 10s"))
    };
    let header = next("header");
    let cols: Vec<&str> = header.split_whitespace().collect();
    assert_eq!(cols, ["NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"]);
    let row = next("first row");
    assert!(
        row.starts_with("web") && row.contains("edgio") && row.contains("web.example.com"),
        "{row}"
    );
    ok(
        &k,
        &srv,
        &[
            "patch",
            "ing",
            "web",
            "-n",
            "kubectl",
            "--subresource=status",
            "--type=merge",
            "-p",
            r#"{"status":{"loadBalancer":{"ingress":[{"hostname":"demo.s.llnwi.net"}]}}}"#,
        ],
    );
    let updated = next("updated row");
    assert!(updated.contains("demo.s.llnwi.net"), "{updated}");
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn patch_status_subresource_sets_only_status() {
    let k = require_kubectl!();
    let srv = Server::start(&[]);
    apply_app(&k, &srv);
    let before = jsonpath(&k, &srv, "ing", "web", "kubectl", "{.metadata.generation}");
    let out = ok(
        &k,
        &srv,
        &[
            "patch",
            "ingress",
            "web",
            "-n",
            "kubectl",
            "--subresource=status",
            "--type=merge",
            "-p",
            r#"{"spec":{"rules":[]},"status":{"loadBalancer":{"ingress":[{"hostname":"demo.s.llnwi.net"}]}}}"#,
        ],
    );
    assert!(
        out.contains("ingress.networking.k8s.io/web patched"),
        "{out}"
    );
    let got = jsonpath(
        &k,
        &srv,
        "ing",
        "web",
        "kubectl",
        "{.status.loadBalancer.ingress[0].hostname} {.spec.rules[0].host} {.metadata.generation}",
    );
    assert_eq!(got, format!("demo.s.llnwi.net web.example.com {before}"));
}

#[test]
fn describe_ingress_shows_class_rules_backends_and_events() {
    let k = require_kubectl!();
    let srv = Server::start(&[]);
    apply_app(&k, &srv);
    let uid = jsonpath(&k, &srv, "ing", "web", "kubectl", "{.metadata.uid}");
    let event = format!(
        r#"{{"apiVersion":"events.k8s.io/v1","kind":"Event","metadata":{{"name":"web.sync","namespace":"kubectl"}},
        "eventTime":"2026-01-01T00:00:00.000000Z","type":"Warning","reason":"PortNotFound","action":"Reconcile",
        "note":"service port name does not exist","reportingController":"edgio-ingress.dev/controller","reportingInstance":"pod-0",
        "regarding":{{"apiVersion":"networking.k8s.io/v1","kind":"Ingress","name":"web","namespace":"kubectl","uid":"{uid}"}}}}"#
    );
    let f = write(srv.dir(), "event.json", &event);
    ok(&k, &srv, &["create", "-f", f.to_str().expect("path")]);
    let out = ok(&k, &srv, &["describe", "ingress", "web", "-n", "kubectl"]);
    for want in [
        "Name:",
        "web",
        "Ingress Class:",
        "edgio",
        "web.example.com",
        "/fred",
        "web:80",
        "PortNotFound",
        "service port name does not exist",
    ] {
        assert!(out.contains(want), "describe lacks {want:?}:\n{out}");
    }
}

#[test]
fn delete_removes_objects_and_waits_for_finalizers() {
    let k = require_kubectl!();
    let srv = Server::start(&[]);
    apply_app(&k, &srv);
    ok(
        &k,
        &srv,
        &[
            "patch",
            "ing",
            "web",
            "-n",
            "kubectl",
            "--type=merge",
            "-p",
            r#"{"metadata":{"finalizers":["edgio-ingress.dev/cleanup"]}}"#,
        ],
    );
    let out = ok(
        &k,
        &srv,
        &["delete", "ingress", "web", "-n", "kubectl", "--wait=false"],
    );
    assert!(
        out.contains("ingress.networking.k8s.io \"web\" deleted"),
        "{out}"
    );
    let ts = jsonpath(
        &k,
        &srv,
        "ing",
        "web",
        "kubectl",
        "{.metadata.deletionTimestamp}",
    );
    assert!(!ts.is_empty(), "still there, terminating");
    ok(
        &k,
        &srv,
        &[
            "patch",
            "ing",
            "web",
            "-n",
            "kubectl",
            "--type=json",
            "-p",
            r#"[{"op":"test","path":"/metadata/finalizers/0","value":"edgio-ingress.dev/cleanup"},{"op":"remove","path":"/metadata/finalizers/0"}]"#,
        ],
    );
    let gone = run(&k, &srv, &["get", "ing", "web", "-n", "kubectl"]);
    assert!(
        !gone.ok && gone.stderr.contains("NotFound"),
        "{}",
        gone.stderr
    );
    let out = ok(&k, &srv, &["delete", "svc", "web", "-n", "kubectl"]);
    assert!(out.contains("service \"web\" deleted"), "{out}");
    let started = Instant::now();
    let out = ok(
        &k,
        &srv,
        &["delete", "namespace", "kubectl", "--timeout=20s"],
    );
    assert!(out.contains("namespace \"kubectl\" deleted"), "{out}");
    assert!(started.elapsed() < Duration::from_secs(20));
    let gone = run(&k, &srv, &["get", "deploy", "web", "-n", "kubectl"]);
    assert!(!gone.ok, "namespace contents removed");
}

#[test]
fn get_resolves_short_names_and_prints_server_tables() {
    let k = require_kubectl!();
    let srv = Server::start(&[]);
    apply_app(&k, &srv);
    let svc = ok(&k, &srv, &["get", "svc", "-n", "kubectl"]);
    assert!(
        svc.contains("NodePort") && svc.contains("80:30080/TCP"),
        "{svc}"
    );
    let ns = ok(&k, &srv, &["get", "ns"]);
    for n in [
        "default",
        "kube-system",
        "kube-public",
        "kube-node-lease",
        "kubectl",
    ] {
        assert!(ns.contains(n), "{ns}");
    }
    let deploy = ok(&k, &srv, &["get", "deploy", "-n", "kubectl"]);
    assert!(
        deploy
            .lines()
            .next()
            .is_some_and(|h| h.contains("READY") && h.contains("UP-TO-DATE")),
        "{deploy}"
    );
    for short in [
        "ing",
        "cm",
        "sa",
        "ev",
        "no",
        "ingressclass",
        "leases",
        "roles",
    ] {
        let o = run(&k, &srv, &["get", short, "-A"]);
        assert!(o.ok, "kubectl get {short}: {}", o.stderr);
    }
    let can = ok(
        &k,
        &srv,
        &["auth", "can-i", "create", "ingresses", "-n", "kubectl"],
    );
    assert_eq!(can.trim(), "yes", "no authorization is enforced");
    let missing = run(&k, &srv, &["get", "ing", "nope", "-n", "kubectl"]);
    assert!(
        missing
            .stderr
            .contains("ingresses.networking.k8s.io \"nope\" not found"),
        "{}",
        missing.stderr
    );
}

#[test]
fn scale_and_rollout_status_complete_with_simulated_deployments() {
    let k = require_kubectl!();
    let srv = Server::start(&["--simulate-deployments"]);
    apply_app(&k, &srv);
    let out = ok(
        &k,
        &srv,
        &[
            "rollout",
            "status",
            "deploy/web",
            "-n",
            "kubectl",
            "--timeout=10s",
        ],
    );
    assert!(out.contains("successfully rolled out"), "{out}");
    let out = ok(
        &k,
        &srv,
        &["scale", "deploy/web", "-n", "kubectl", "--replicas=3"],
    );
    assert!(out.contains("deployment.apps/web scaled"), "{out}");
    let got = jsonpath(
        &k,
        &srv,
        "deploy",
        "web",
        "kubectl",
        "{.spec.replicas} {.status.availableReplicas}",
    );
    assert_eq!(got, "3 3");
}

#[test]
fn create_generators_for_simple_kinds_work_through_protobuf() {
    let k = require_kubectl!();
    let srv = Server::start(&[]);
    ok(&k, &srv, &["create", "namespace", "gen"]);
    ok(
        &k,
        &srv,
        &[
            "create",
            "configmap",
            "cm",
            "-n",
            "gen",
            "--from-literal=a=b",
        ],
    );
    ok(
        &k,
        &srv,
        &[
            "create",
            "secret",
            "generic",
            "s",
            "-n",
            "gen",
            "--from-literal=k=v",
        ],
    );
    ok(&k, &srv, &["create", "serviceaccount", "sa", "-n", "gen"]);
    let got = jsonpath(&k, &srv, "cm", "cm", "gen", "{.data.a}");
    assert_eq!(got, "b");
    let got = jsonpath(&k, &srv, "secret", "s", "gen", "{.data.k} {.type}");
    assert_eq!(got, "dg== Opaque");
    let refused = run(
        &k,
        &srv,
        &[
            "create",
            "deployment",
            "d",
            "-n",
            "gen",
            "--image=example/app:1.0",
        ],
    );
    assert!(
        !refused.ok && refused.stderr.contains("Unsupported Media Type"),
        "{}",
        refused.stderr
    );
}

#[test]
fn secret_string_data_is_stored_as_base64_data() {
    let k = require_kubectl!();
    let srv = Server::start(&[]);
    let f = write(
        srv.dir(),
        "secret.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\n  namespace: default\ntype: Opaque\nstringData:\n  EDGIO_USERNAME: demo\n",
    );
    ok(&k, &srv, &["apply", "-f", f.to_str().expect("path")]);
    let got = jsonpath(
        &k,
        &srv,
        "secret",
        "creds",
        "default",
        "{.data.EDGIO_USERNAME}|{.stringData}",
    );
    assert_eq!(got, "ZGVtbw==|");
    let again = ok(&k, &srv, &["apply", "-f", f.to_str().expect("path")]);
    assert!(
        again.contains("secret/creds unchanged") || again.contains("secret/creds configured"),
        "{again}"
    );
}

#[test]
fn strict_field_validation_rejects_typos_and_accepts_the_project_manifests() {
    let k = require_kubectl!();
    let srv = Server::start(&[]);
    let bad = write(
        srv.dir(),
        "bad.yaml",
        &APP.replace("  rules:\n  - host", "  rulez:\n  - host"),
    );
    let out = run(&k, &srv, &["apply", "-f", bad.to_str().expect("path")]);
    assert!(
        !out.ok
            && out
                .stderr
                .contains("strict decoding error: unknown field \"spec.rulez\""),
        "{}",
        out.stderr
    );
    let manifests = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../manifests");
    if manifests.join("kustomization.yaml").is_file() {
        // A fresh server: the typo run above already took nodePort 30080.
        let fresh = Server::start(&[]);
        let out = ok(
            &k,
            &fresh,
            &["apply", "-k", manifests.to_str().expect("path")],
        );
        assert!(
            out.contains("ingress.networking.k8s.io/external-pywai-inline-ingress created"),
            "{out}"
        );
    }
}
