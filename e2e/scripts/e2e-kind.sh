#!/usr/bin/env bash
# `make e2e`: the end-to-end scenarios of the local tier, run against a fresh kind cluster.
#
#   1. a new kind cluster (KIND_CLUSTER, default edgio-ingress-e2e) from kind-config.yaml, with its
#      own kubeconfig under .e2e/kind/ (your ~/.kube/config is not touched);
#   2. release build, images (e2e/scripts/build-images.sh), `kind load docker-image`;
#   3. `kubectl apply -k manifests`, wait for every rollout;
#   4. the harness's scenarios against that cluster: `e2e cluster --kubeconfig ...`, reaching the
#      mocks' admin APIs through `kubectl port-forward`, and pywai, the CDN edge and the DNS mock
#      through the host ports kind-config.yaml maps (30080, 30081, 30053/udp).
# Extra arguments go to the harness, e.g. `e2e/scripts/e2e-kind.sh --only apply,edit`.
# On failure the cluster's logs are exported to .e2e/kind-logs. The cluster is deleted at the end
# unless KEEP_CLUSTER=1. Needs Docker, kind, kubectl, curl and cargo.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
TRIPLE=x86_64-unknown-linux-gnu
CLUSTER="${KIND_CLUSTER:-edgio-ingress-e2e}"
WORK="$ROOT/.e2e/kind"
KUBECONFIG_FILE="$WORK/kubeconfig"
LOGS="$ROOT/.e2e/kind-logs"
NODEPORT=30080
EDGE_PORT=30081
DNS_PORT=30053

log() { printf '\033[1me2e-kind:\033[0m %s\n' "$*"; }
die() {
  echo "e2e-kind: $*" >&2
  exit 1
}

for tool in docker kind kubectl curl cargo python3; do
  command -v "$tool" >/dev/null || die "$tool is not on PATH (make e2e needs Docker, kind, kubectl, curl, cargo and python3)"
done
docker info >/dev/null 2>&1 || die "the Docker daemon does not answer (docker info failed)"

# The demo cluster maps the same host ports; two clusters cannot both have them.
for other in $(kind get clusters 2>/dev/null); do
  if [[ "$other" != "$CLUSTER" ]] && docker ps --format '{{.Names}} {{.Ports}}' |
    grep -E "^$other-control-plane .*:($NODEPORT|$EDGE_PORT|$DNS_PORT)->" >/dev/null; then
    die "kind cluster '$other' already maps host ports $NODEPORT/$EDGE_PORT/$DNS_PORT; remove it first (make demo-down)"
  fi
done

k() { kubectl --kubeconfig "$KUBECONFIG_FILE" "$@"; }

pf_pids=()
cleanup() {
  local rc=$?
  for pid in "${pf_pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  if [[ $rc -ne 0 ]] && kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
    log "failed (exit $rc); exporting the cluster's logs to $LOGS"
    rm -rf "$LOGS"
    kind export logs "$LOGS" --name "$CLUSTER" >/dev/null 2>&1 || true
    mkdir -p "$LOGS"
    k get all,ingress,events -A >"$LOGS/objects.txt" 2>&1 || true
    k -n edgio-ingress-system logs -l app.kubernetes.io/name=edgio-ingress --tail=200 --prefix \
      >"$LOGS/controller.log" 2>&1 || true
  fi
  if [[ "${KEEP_CLUSTER:-0}" == 1 ]]; then
    log "KEEP_CLUSTER=1: leaving cluster $CLUSTER (kubeconfig $KUBECONFIG_FILE)"
  elif kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
    log "deleting cluster $CLUSTER"
    kind delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true
  fi
  exit "$rc"
}
trap cleanup EXIT

# --- 1. a fresh cluster -----------------------------------------------------------------------------
mkdir -p "$WORK"
if kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
  log "deleting the previous cluster $CLUSTER (the run needs a fresh one)"
  kind delete cluster --name "$CLUSTER"
fi
log "creating kind cluster $CLUSTER"
kind create cluster --name "$CLUSTER" --config kind-config.yaml --kubeconfig "$KUBECONFIG_FILE" --wait 180s

# --- 2. images ---------------------------------------------------------------------------------------
log "building the release binaries and the images"
cargo build --workspace --bins --release
e2e/scripts/build-images.sh release pywai controller edgio-mock vultr-mock
kind load docker-image --name "$CLUSTER" \
  edgio-ingress/pywai:dev edgio-ingress/controller:dev \
  edgio-ingress/edgio-mock:dev edgio-ingress/vultr-mock:dev

# --- 3. the manifests, unchanged --------------------------------------------------------------------
log "kubectl apply -k manifests"
k apply -k manifests
k -n cdn-mocks rollout status deployment/edgio-mock --timeout=180s
k -n cdn-mocks rollout status deployment/vultr-mock --timeout=180s
k -n edgio-ingress-system rollout status deployment/edgio-ingress-controller --timeout=180s
k -n default rollout status deployment/pywai-inline-deployment --timeout=180s

# --- 4. the scenarios ----------------------------------------------------------------------------------
# A port-forward to a Service on a free local port; sets PF_PORT once it accepts connections.
# (Not a command substitution: the port-forward's pid must land in this shell's pf_pids.)
port_forward() { # namespace service remote-port
  local deadline
  PF_PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  # kubectl itself, not the k function: $! must be the port-forward, not a subshell around it.
  kubectl --kubeconfig "$KUBECONFIG_FILE" -n "$1" port-forward "svc/$2" "$PF_PORT:$3" --address 127.0.0.1 \
    >"$WORK/pf-$2.log" 2>&1 &
  pf_pids+=($!)
  deadline=$((SECONDS + 30))
  until curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$PF_PORT/__admin/state"; do
    ((SECONDS < deadline)) || die "port-forward to $1/$2 did not come up: $(cat "$WORK/pf-$2.log")"
    sleep 1
  done
}
port_forward cdn-mocks edgio-mock-api 8081
edgio_admin_port="$PF_PORT"
port_forward cdn-mocks vultr-mock-api 8090
vultr_admin_port="$PF_PORT"
log "edgio-mock admin API on 127.0.0.1:$edgio_admin_port, vultr-mock on 127.0.0.1:$vultr_admin_port"

# Any nodePort is reachable at a node's address where the host routes to Docker's bridge networks
# (Linux); elsewhere (Docker Desktop) only the nodePort kind maps to the host.
node_url="http://127.0.0.1:$NODEPORT"
node_ip="$(k get node "$CLUSTER-control-plane" -o jsonpath='{.status.addresses[?(@.type=="InternalIP")].address}')"
if [[ -n "$node_ip" ]] && curl -fsS -o /dev/null --max-time 3 "http://$node_ip:$NODEPORT/healthz"; then
  node_url="http://$node_ip:{port}"
fi
log "NodePorts reached at $node_url"

harness="target/$TRIPLE/release/e2e"
if ! "$harness" cluster --help >/dev/null 2>&1; then
  die "the harness ($harness) has no 'cluster' subcommand, so the scenarios cannot run against kind"
fi
# The harness must know how the deployed controller is configured: it waits out resyncs in the
# steady-state scenario and expects the origin name to list the node addresses of these types.
controller_env() {
  k -n edgio-ingress-system get deployment edgio-ingress-controller \
    -o jsonpath="{.spec.template.spec.containers[0].env[?(@.name==\"$1\")].value}"
}
resync="$(controller_env RESYNC_INTERVAL)"
address_types="$(controller_env NODE_ADDRESS_TYPES)"
shortname="$(controller_env EDGIO_SHORTNAME)"
# The controller's credentials, which the mocks accept: the harness makes records and rules by
# hand with them (ones the controller must leave alone).
credential() {
  k -n edgio-ingress-system get secret edgio-ingress-credentials -o jsonpath="{.data.$1}" | base64 -d
}
edgio_user="$(credential EDGIO_USERNAME)"
edgio_key="$(credential EDGIO_SHARED_KEY)"
vultr_key="$(credential VULTR_API_KEY)"
log "running the scenarios against $CLUSTER (controller resync ${resync:-5m})"
E2E_PROFILE=release "$harness" cluster \
  --kubeconfig "$KUBECONFIG_FILE" \
  --manifests manifests \
  --edgio-admin "http://127.0.0.1:$edgio_admin_port" \
  --vultr-admin "http://127.0.0.1:$vultr_admin_port" \
  --dns "127.0.0.1:$DNS_PORT" \
  --edge "http://127.0.0.1:$EDGE_PORT" \
  --node-url "$node_url" \
  --resync "${resync:-5m}" \
  --node-address-types "${address_types:-ExternalIP,InternalIP}" \
  --edgio-user "$edgio_user" --edgio-key "$edgio_key" --edgio-shortname "$shortname" \
  --vultr-key "$vultr_key" \
  "$@"
log "all scenarios passed on kind"
