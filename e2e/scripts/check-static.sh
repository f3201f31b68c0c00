#!/usr/bin/env bash
# Static checks of everything the kind path uses but this machine cannot run (run by `make test`):
#   - every manifest under manifests/ validates against the Kubernetes OpenAPI schemas (strict:
#     unknown fields and unknown kinds fail), file by file and as rendered by kustomize;
#   - `kubectl kustomize manifests` renders, and the rendered objects hang together: each Ingress
#     names a Service and port that exist (the article's YAML did not), Service selectors and
#     named ports match the Deployments, Secrets/ServiceAccounts/Roles referenced exist, every
#     workload is non-root with a read-only root filesystem, resources and probes;
#   - kind-config.yaml parses, has a control plane and two workers, and maps every nodePort;
#   - every image a manifest names has a build target in build-images.sh and a Dockerfile;
#   - the e2e workflow parses and runs `make e2e`; the scripts parse (and pass shellcheck when
#     it is installed).
# Needs kubectl, python3 with PyYAML and kubernetes-validate (pip install -r e2e/requirements.txt).
# Ends with "static checks: N passed, M failed[, K skipped]"; exits non-zero when anything failed.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT" || exit 2

# The Kubernetes version the schemas are taken from: the one k8s-openapi is built for (v1_33)
# and the one kind's default node image runs.
K8S_VERSION="${K8S_VERSION:-1.33.0}"

passed=0
failed=0
skipped=0
ok() {
  echo "ok    $1"
  passed=$((passed + 1))
}
fail() {
  echo "FAIL  $1"
  if [[ -n "${2:-}" ]]; then
    while IFS= read -r line; do
      echo "        $line"
    done <<<"$2"
  fi
  failed=$((failed + 1))
}
skip() {
  echo "skip  $1"
  skipped=$((skipped + 1))
}
summary() {
  local line="static checks: $passed passed, $failed failed"
  if [[ $skipped -gt 0 ]]; then
    line+=", $skipped skipped"
  fi
  echo "$line"
  [[ $failed -eq 0 ]]
}

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# --- tools -------------------------------------------------------------------------------------
have_python=1
if ! out="$(python3 -c 'import yaml, kubernetes_validate' 2>&1)"; then
  fail "python3 with PyYAML and kubernetes-validate" \
    "$out"$'\n'"install them with: python3 -m pip install -r e2e/requirements.txt"
  have_python=0
else
  ok "python3 with PyYAML and kubernetes-validate $(python3 -c 'import kubernetes_validate as k; print(k.__version__)')"
fi
have_kubectl=1
if ! command -v kubectl >/dev/null; then
  fail "kubectl on PATH" "kubectl renders the kustomization; install it (Debian: apt-get install kubernetes-client)"
  have_kubectl=0
fi

# --- kustomize renders ---------------------------------------------------------------------------
rendered="$tmp/rendered.yaml"
if [[ $have_kubectl -eq 1 ]]; then
  while IFS= read -r k; do
    dir="$(dirname "$k")"
    if out="$(kubectl kustomize "$dir" 2>&1)"; then
      ok "kubectl kustomize $dir renders ($(grep -c '^kind:' <<<"$out") objects)"
      [[ "$dir" == manifests ]] && printf '%s\n' "$out" >"$rendered"
    else
      fail "kubectl kustomize $dir renders" "$out"
    fi
  done < <(find manifests -name kustomization.yaml | sort)
fi

# --- schemas, cross-references, kind-config, images, workflow (python) ------------------------------
if [[ $have_python -eq 1 ]]; then
  images_list="$tmp/images.txt"
  if ! e2e/scripts/build-images.sh --list >"$images_list" 2>"$tmp/images.err"; then
    fail "build-images.sh --list" "$(cat "$tmp/images.err")"
    : >"$images_list"
  fi
  py_out="$tmp/py.out"
  RENDERED="$rendered" IMAGES_LIST="$images_list" K8S_VERSION="$K8S_VERSION" \
    python3 - >"$py_out" 2>&1 <<'PY'
import glob
import ipaddress
import os
import sys

import kubernetes_validate as kv
import yaml

results = []  # (ok, description, detail)


def check(ok, desc, detail=""):
    results.append(("PASS" if ok else "FAIL", desc, detail))


def skip(desc):
    results.append(("SKIP", desc, ""))


def load_all(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def validate_docs(docs, where):
    for d in docs:
        name = f"{where}: {d.get('kind')}/{d.get('metadata', {}).get('name')}"
        try:
            version = kv.validate(d, os.environ["K8S_VERSION"], strict=True)
            check(True, f"schema v{version} {name}")
        except kv.ValidationError as e:
            path = ".".join(str(p) for p in e.path)
            check(False, f"schema {name}", f"{path}: {e.message}")
        except (kv.SchemaNotFoundError, kv.InvalidSchemaError) as e:
            check(False, f"schema {name}", e.message)
        except Exception as e:  # a malformed document: report it, keep checking the rest
            check(False, f"schema {name}", str(e))


# 1. Every manifest file on its own, strict.
files = sorted(
    p for p in glob.glob("manifests/**/*.yaml", recursive=True)
    if os.path.basename(p) != "kustomization.yaml"
)
check(files, "manifests/ holds manifest files", "no *.yaml besides kustomization.yaml found")
for p in files:
    try:
        validate_docs(load_all(p), p)
    except yaml.YAMLError as e:
        check(False, f"{p} parses as YAML", str(e))

# Every file is listed by a kustomization, so `apply -k` installs all of it.
listed = set()
for k in glob.glob("manifests/**/kustomization.yaml", recursive=True):
    for r in (load_all(k)[0] or {}).get("resources", []):
        listed.add(os.path.normpath(os.path.join(os.path.dirname(k), r)))
for p in files:
    check(os.path.normpath(p) in listed, f"{p} is listed in its kustomization.yaml")

# 2. The rendered set, as `kubectl apply -k manifests` would send it.
rendered_path = os.environ["RENDERED"]
if not os.path.exists(rendered_path):
    print("__done__")
    for status, desc, detail in results:
        print(status + "\t" + desc + "\t" + detail.replace("\n", " | "))
    sys.exit(0)
objs = load_all(rendered_path)
validate_docs(objs, "rendered")


def key(o):
    return (o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"])


by_key = {key(o): o for o in objs}


def get(kind, ns, name):
    return by_key.get((kind, ns, name))


def of_kind(kind):
    return [o for o in objs if o["kind"] == kind]


# The fixed names of the project contract.
dep = get("Deployment", "default", "pywai-inline-deployment")
check(dep, "Deployment default/pywai-inline-deployment exists")
if dep:
    c = dep["spec"]["template"]["spec"]["containers"][0]
    check(c.get("image") == "edgio-ingress/pywai:dev", "pywai runs edgio-ingress/pywai:dev", c.get("image"))
    check(c.get("args") == ["8000"], "pywai listens on 8000 (args [\"8000\"])", str(c.get("args")))
    check({"name": "http", "containerPort": 8000} in
          [{k: p.get(k) for k in ("name", "containerPort")} for p in c.get("ports", [])],
          "pywai container port 8000 is named http")
svc = get("Service", "default", "pywai-inline-service")
check(svc, "Service default/pywai-inline-service exists")
if svc:
    ports = svc["spec"].get("ports", [])
    check(svc["spec"].get("type") == "NodePort", "pywai-inline-service is a NodePort Service")
    check(any(p.get("name") == "http" and p.get("port") == 80 and p.get("nodePort") == 30080
              for p in ports), "pywai-inline-service: port 80 named http, nodePort 30080", str(ports))
ing = get("Ingress", "default", "external-pywai-inline-ingress")
check(ing, "Ingress default/external-pywai-inline-ingress exists")
if ing:
    meta = ing["metadata"]
    check(ing["spec"].get("ingressClassName") == "edgio", "the Ingress has spec.ingressClassName: edgio")
    check("kubernetes.io/ingress.class" not in (meta.get("annotations") or {}),
          "the Ingress does not also set kubernetes.io/ingress.class (the API rejects both)")
    check((meta.get("labels") or {}).get("cdn") == "edgio", "the Ingress has the label cdn: edgio")
    rules = ing["spec"].get("rules", [])
    check(any(r.get("host") == "demo.s.llnwi.net" and any(
        p.get("path") == "/fred" and p.get("pathType") == "Exact" for p in r["http"]["paths"])
        for r in rules), "the Ingress publishes demo.s.llnwi.net/fred (Exact)")
ic = get("IngressClass", "", "edgio")
check(ic and ic["spec"].get("controller") == "edgio-ingress.dev/controller",
      "IngressClass edgio names controller edgio-ingress.dev/controller")
if ic:
    check((ic["metadata"].get("annotations") or {}).get(
        "ingressclass.kubernetes.io/is-default-class") == "false",
        "IngressClass edgio is explicitly not the default class")
for ns in ("edgio-ingress-system", "cdn-mocks"):
    check(get("Namespace", "", ns), f"Namespace {ns} exists")
namespaces = {o["metadata"]["name"] for o in of_kind("Namespace")} | {"default"}
for o in objs:
    ns = o["metadata"].get("namespace")
    if ns:
        check(ns in namespaces, f"{o['kind']}/{o['metadata']['name']} is in a namespace that exists ({ns})")

# Ingress backends -> Services and ports that exist (the article's YAML got both wrong).
services = {(s["metadata"].get("namespace", ""), s["metadata"]["name"]): s for s in of_kind("Service")}
for i in of_kind("Ingress"):
    ns = i["metadata"].get("namespace", "")
    backends = [p["backend"] for r in i["spec"].get("rules", []) for p in r.get("http", {}).get("paths", [])]
    if "defaultBackend" in i["spec"]:
        backends.append(i["spec"]["defaultBackend"])
    cls = i["spec"].get("ingressClassName")
    check(cls is None or get("IngressClass", "", cls), f"Ingress {ns}/{i['metadata']['name']}: IngressClass {cls} exists")
    for b in backends:
        s = b.get("service", {})
        target = services.get((ns, s.get("name")))
        check(target, f"Ingress {ns}/{i['metadata']['name']}: backend Service {s.get('name')} exists")
        if target:
            want = s.get("port", {})
            ports = target["spec"].get("ports", [])
            found = [p for p in ports if ("name" in want and p.get("name") == want["name"]) or
                     ("number" in want and p.get("port") == want["number"])]
            check(found, f"Ingress {ns}/{i['metadata']['name']}: Service {s.get('name')} has port {want}",
                  f"ports: {[(p.get('name'), p.get('port')) for p in ports]}")
            check(target["spec"].get("type") == "NodePort",
                  f"Ingress {ns}/{i['metadata']['name']}: backend {s.get('name')} is NodePort (the CDN reaches it on the nodes)")

# Services select pods of a Deployment, and named targetPorts exist on those pods.
deployments = of_kind("Deployment")
for (ns, name), s in services.items():
    sel = s["spec"].get("selector") or {}
    pods = [d for d in deployments if d["metadata"].get("namespace", "") == ns and
            sel.items() <= (d["spec"]["template"]["metadata"].get("labels") or {}).items()]
    check(sel and pods, f"Service {ns}/{name} selects the pods of a Deployment", f"selector {sel}")
    cports = [(p.get("name"), p.get("containerPort"), p.get("protocol", "TCP"))
              for d in pods for c in d["spec"]["template"]["spec"]["containers"] for p in c.get("ports", [])]
    for p in s["spec"].get("ports", []):
        tp, proto = p.get("targetPort", p.get("port")), p.get("protocol", "TCP")
        match = [c for c in cports if (c[0] == tp if isinstance(tp, str) else c[1] == tp) and c[2] == proto]
        check(match, f"Service {ns}/{name} port {p.get('name')}: targetPort {tp}/{proto} is a container port",
              f"container ports: {cports}")
    d = get("Deployment", ns, pods[0]["metadata"]["name"]) if pods else None
    if d and d["spec"].get("selector", {}).get("matchLabels"):
        ml = d["spec"]["selector"]["matchLabels"]
        check(ml.items() <= d["spec"]["template"]["metadata"]["labels"].items(),
              f"Deployment {ns}/{d['metadata']['name']}: selector matches its pod labels")

# Workloads: hardened pods, referenced Secrets, ServiceAccounts and named probe ports exist.
images = {}
with open(os.environ["IMAGES_LIST"]) as f:
    for line in f:
        parts = line.split()
        if len(parts) == 2:
            images[parts[0]] = parts[1]
check(images, "build-images.sh --list names the images it builds")
for d in deployments:
    ns, name = d["metadata"].get("namespace", ""), d["metadata"]["name"]
    spec = d["spec"]["template"]["spec"]
    psc = spec.get("securityContext") or {}
    sa = spec.get("serviceAccountName")
    if sa:
        check(get("ServiceAccount", ns, sa), f"Deployment {ns}/{name}: ServiceAccount {sa} exists")
    for c in spec["containers"]:
        where = f"Deployment {ns}/{name} container {c['name']}"
        csc = c.get("securityContext") or {}
        check(csc.get("runAsNonRoot", psc.get("runAsNonRoot")) is True and
              (csc.get("runAsUser", psc.get("runAsUser")) or 0) != 0, f"{where}: runs as non-root")
        check(csc.get("readOnlyRootFilesystem") is True, f"{where}: read-only root filesystem")
        check(csc.get("allowPrivilegeEscalation") is False and
              "ALL" in (csc.get("capabilities") or {}).get("drop", []),
              f"{where}: no privilege escalation, all capabilities dropped")
        res = c.get("resources") or {}
        check(all(k in res.get(t, {}) for t in ("requests", "limits") for k in ("cpu", "memory")),
              f"{where}: cpu and memory requests and limits")
        named = {p.get("name") for p in c.get("ports", [])}
        for probe in ("livenessProbe", "readinessProbe"):
            pr = c.get(probe)
            check(pr, f"{where}: has a {probe}")
            port = ((pr or {}).get("httpGet") or (pr or {}).get("tcpSocket") or {}).get("port")
            if isinstance(port, str):
                check(port in named, f"{where}: {probe} port {port} is a named container port")
        for e in c.get("env", []):
            ref = (e.get("valueFrom") or {}).get("secretKeyRef")
            if ref:
                sec = get("Secret", ns, ref["name"])
                keys = set((sec or {}).get("data", {}) or {}) | set((sec or {}).get("stringData", {}) or {})
                check(ref["key"] in keys, f"{where}: env {e['name']} from Secret {ref['name']} key {ref['key']} exists")
        img = c.get("image")
        check(img in images, f"{where}: image {img} has a build target in build-images.sh",
              f"build targets: {sorted(images)}")
        if img in images:
            short = img.split("/", 1)[1].split(":", 1)[0]
            check(os.path.isfile(f"e2e/images/{short}.Dockerfile"), f"{where}: e2e/images/{short}.Dockerfile exists")
        check(c.get("imagePullPolicy") == "IfNotPresent",
              f"{where}: imagePullPolicy IfNotPresent (images are kind-loaded, never pulled)")
for short in {i.split("/", 1)[1].split(":", 1)[0] for i in images}:
    check(os.path.isfile(f"e2e/images/{short}.Dockerfile"), f"build target {short} has e2e/images/{short}.Dockerfile")

# The controller: the env the contract defines, leader election with the downward API.
KNOWN_ENV = {"INGRESS_CLASS", "CONTROLLER_NAME", "WATCH_NAMESPACES", "OWNER_ID", "ORIGIN_HOSTNAME",
             "DNS_ZONE", "DNS_TTL", "NODE_ADDRESS_TYPES", "RESYNC_INTERVAL", "EDGIO_BASE_URL", "EDGIO_SHORTNAME",
             "EDGIO_USERNAME", "EDGIO_SHARED_KEY", "VULTR_BASE_URL", "VULTR_API_KEY", "HTTP_ADDR",
             "LEADER_ELECT", "LEASE_NAME", "POD_NAMESPACE", "POD_NAME", "LOG_FORMAT"}
ctl = [d for d in deployments if any(c.get("image") == "edgio-ingress/controller:dev"
                                     for c in d["spec"]["template"]["spec"]["containers"])]
check(len(ctl) == 1, "exactly one Deployment runs the controller image")
for d in ctl:
    c = d["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e for e in c.get("env", [])}
    check(d["spec"].get("replicas") == 2, "controller: 2 replicas")
    check(env.get("LEADER_ELECT", {}).get("value") == "true", "controller: LEADER_ELECT=true")
    for n, field in (("POD_NAME", "metadata.name"), ("POD_NAMESPACE", "metadata.namespace")):
        check(((env.get(n, {}).get("valueFrom") or {}).get("fieldRef") or {}).get("fieldPath") == field,
              f"controller: {n} from the downward API ({field})")
    unknown = sorted(set(env) - KNOWN_ENV)
    check(not unknown, "controller: every env var is one the controller reads", f"unknown: {unknown}")
    for n in ("EDGIO_USERNAME", "EDGIO_SHARED_KEY", "VULTR_API_KEY"):
        check((env.get(n, {}).get("valueFrom") or {}).get("secretKeyRef"), f"controller: {n} comes from a Secret")

# RBAC: bindings name roles and ServiceAccounts that exist; leases only namespaced.
for b in of_kind("RoleBinding") + of_kind("ClusterRoleBinding"):
    ns = b["metadata"].get("namespace", "")
    ref = b["roleRef"]
    role = get(ref["kind"], ns if ref["kind"] == "Role" else "", ref["name"])
    check(role, f"{b['kind']} {b['metadata']['name']}: {ref['kind']} {ref['name']} exists")
    for s in b.get("subjects", []):
        if s["kind"] == "ServiceAccount":
            check(get("ServiceAccount", s.get("namespace", ns), s["name"]),
                  f"{b['kind']} {b['metadata']['name']}: ServiceAccount {s.get('namespace', ns)}/{s['name']} exists")
for cr in of_kind("ClusterRole"):
    rules, name = cr.get("rules", []), cr["metadata"]["name"]
    check(all("*" not in r.get("verbs", []) + r.get("resources", []) + r.get("apiGroups", [])
              for r in rules), f"ClusterRole {name}: no wildcard rules")
    check(all("leases" not in r.get("resources", []) for r in rules),
          f"ClusterRole {name}: leases are not cluster-wide (namespaced Role only)")
    check(all("secrets" not in r.get("resources", []) for r in rules),
          f"ClusterRole {name}: no access to Secrets")

# 3. kind-config.yaml: the cluster shape and the host port mappings for every nodePort.
try:
    kc = load_all("kind-config.yaml")[0]
    check(True, "kind-config.yaml parses")
except Exception as e:
    kc = None
    check(False, "kind-config.yaml parses", str(e))
if kc:
    check(kc.get("kind") == "Cluster" and kc.get("apiVersion") == "kind.x-k8s.io/v1alpha4",
          "kind-config.yaml is a kind.x-k8s.io/v1alpha4 Cluster")
    # kind decodes its config strictly: an unknown field is an error at `kind create cluster`.
    KIND_TOP = {"kind", "apiVersion", "name", "nodes", "networking", "featureGates", "runtimeConfig",
                "kubeadmConfigPatches", "kubeadmConfigPatchesJSON6902", "containerdConfigPatches",
                "containerdConfigPatchesJSON6902"}
    KIND_NODE = {"role", "image", "labels", "extraMounts", "extraPortMappings", "kubeadmConfigPatches",
                 "kubeadmConfigPatchesJSON6902"}
    KIND_NET = {"ipFamily", "apiServerPort", "apiServerAddress", "podSubnet", "serviceSubnet",
                "disableDefaultCNI", "kubeProxyMode", "dnsSearch"}
    KIND_PORT = {"containerPort", "hostPort", "listenAddress", "protocol"}
    unknown = sorted(set(kc) - KIND_TOP) + sorted(set(kc.get("networking") or {}) - KIND_NET)
    for n in kc.get("nodes", []):
        unknown += sorted(set(n) - KIND_NODE)
        for m in n.get("extraPortMappings", []):
            unknown += sorted(set(m) - KIND_PORT)
            if m.get("protocol", "TCP") not in ("TCP", "UDP", "SCTP"):
                unknown.append(f"protocol {m.get('protocol')}")
    check(not unknown, "kind-config.yaml has only fields kind knows", f"unknown: {unknown}")
    roles = [n.get("role") for n in kc.get("nodes", [])]
    check(sorted(roles) == ["control-plane", "worker", "worker"], "kind: one control plane and two workers", str(roles))
    cp = next((n for n in kc.get("nodes", []) if n.get("role") == "control-plane"), {})
    maps = cp.get("extraPortMappings", [])
    for (ns, name), s in services.items():
        for p in s["spec"].get("ports", []):
            if "nodePort" in p:
                m = [x for x in maps if x.get("containerPort") == p["nodePort"] == x.get("hostPort")
                     and x.get("protocol", "TCP") == p.get("protocol", "TCP")]
                check(m, f"kind maps nodePort {p['nodePort']} of Service {ns}/{name} to the host",
                      f"extraPortMappings: {maps}")
    subnet = ipaddress.ip_network(kc.get("networking", {}).get("serviceSubnet", "10.96.0.0/16"))
    for (ns, name), s in services.items():
        ip = s["spec"].get("clusterIP")
        if ip and ip != "None":
            check(ipaddress.ip_address(ip) in subnet, f"Service {ns}/{name}: clusterIP {ip} is inside kind's service subnet {subnet}")
# 4. The flags and env vars each container is given are ones its binary accepts: clap rejects an
# unknown flag before it gets to --help, and the help lists every env var as "[env: NAME...".
import re
import subprocess

triple_dir = "target/x86_64-unknown-linux-gnu"
bin_dir = next((f"{triple_dir}/{p}" for p in ("debug", "release")
                if all(os.path.isfile(f"{triple_dir}/{p}/{b}") for b in set(images.values()))), None)
if bin_dir is None:
    skip("manifest flags and env against the binaries (binaries not built: cargo build --workspace --bins)")
else:
    for d in deployments:
        for c in d["spec"]["template"]["spec"]["containers"]:
            binary = images.get(c.get("image"))
            if not binary:
                continue
            where = f"Deployment {d['metadata'].get('namespace', '')}/{d['metadata']['name']} container {c['name']}"
            argv = [f"{bin_dir}/{binary}"] + list(c.get("command", [])[1:]) + list(c.get("args", [])) + ["--help"]
            try:
                run = subprocess.run(argv, env={}, capture_output=True, text=True, timeout=20)
                helptext, rc, err = run.stdout, run.returncode, run.stderr.strip()
            except (OSError, subprocess.TimeoutExpired) as e:
                helptext, rc, err = "", -1, str(e)
            check(rc == 0, f"{where}: {binary} accepts the args {c.get('args', [])}", err)
            known = set(re.findall(r"\[env: ([A-Z0-9_]+)[=\]]", helptext))
            unknown = sorted(e["name"] for e in c.get("env", []) if e["name"] not in known)
            if rc == 0:
                check(not unknown, f"{where}: {binary} reads every env var it is given", f"not read: {unknown}")

# 5. The workflow users run in CI.
wf = ".github/workflows/e2e.yaml"
try:
    w = load_all(wf)[0]
    runs = [s.get("run", "") for j in w.get("jobs", {}).values() for s in j.get("steps", [])]
    check(any("make e2e" in r for r in runs), f"{wf} parses and runs make e2e")
except Exception as e:
    check(False, f"{wf} parses and runs make e2e", str(e))

print("__done__")
for status, desc, detail in results:
    print(status + "\t" + desc + "\t" + detail.replace("\n", " | "))
PY
  if ! grep -q '^__done__$' "$py_out"; then
    fail "manifest checks ran to the end" "$(cat "$py_out")"
  else
    while IFS=$'\t' read -r status desc detail; do
      case "$status" in
        PASS) ok "$desc" ;;
        FAIL) fail "$desc" "$detail" ;;
        SKIP) skip "$desc" ;;
      esac
    done < <(sed -n '/^__done__$/,$p' "$py_out" | tail -n +2)
  fi
fi

# --- scripts ---------------------------------------------------------------------------------------
scripts=(e2e/scripts/*.sh)
# Every script must parse and pass shellcheck (all of them run in make test or the kind path).
for s in "${scripts[@]}"; do
  if out="$(bash -n "$s" 2>&1)"; then
    ok "$s parses"
  else
    fail "$s parses" "$out"
  fi
done
if command -v shellcheck >/dev/null; then
  for s in "${scripts[@]}"; do
    if out="$(shellcheck -x "$s" 2>&1)"; then
      ok "shellcheck $s"
    else
      fail "shellcheck $s" "$out"
    fi
  done
else
  skip "shellcheck (not installed; Debian: apt-get install shellcheck)"
fi

summary
