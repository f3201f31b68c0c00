#!/usr/bin/env bash
# `make demo`: the article's flow, narrated step by step.
#
# With Docker and kind: a three-node kind cluster (edgio-ingress-demo, kubectl context
# kind-edgio-ingress-demo) gets our images and `kubectl apply -k manifests`; then the walkthrough
# shows the rule the controller created in the (mock) Edgio CDN, the records in (mock) Vultr DNS,
# the Ingress status, and curl through the NodePort and through the CDN edge. The cluster is left
# running for you to explore; `make demo-down` removes it.
#
# Without Docker or kind: says why, and runs the same walkthrough on the local tier
# (`e2e demo`: a local API server, the mocks, the controller and pywai as processes).
#
# Environment: DEMO_TIER=kind|local forces a tier; KIND_CLUSTER (default edgio-ingress-demo);
# PROFILE=release|debug for the kind images (default release: small, stripped).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
TRIPLE=x86_64-unknown-linux-gnu
CLUSTER="${KIND_CLUSTER:-edgio-ingress-demo}"
CONTEXT="kind-$CLUSTER"
PROFILE="${PROFILE:-release}"
HOST=demo.s.llnwi.net
PUBLISHED_PATH=/fred
NODEPORT=30080
EDGE_PORT=30081
DNS_PORT=30053

step_no=0
bold="" plain=""
if [[ -t 1 ]]; then
  bold=$'\033[1m' plain=$'\033[0m'
fi
step() {
  step_no=$((step_no + 1))
  printf '\n%s== %d. %s%s\n' "$bold" "$step_no" "$*" "$plain"
}
say() { printf '   %s\n' "$*"; }
# Show a command the way a person would type it (k is kubectl with the demo's context), run it.
run() {
  local shown=("$@") word line="   \$"
  if [[ "$1" == k ]]; then
    shown=(kubectl --context "$CONTEXT" "${@:2}")
  fi
  for word in "${shown[@]}"; do
    if [[ "$word" == *[[:space:]]* ]]; then
      line+=" '$word'"
    else
      line+=" $word"
    fi
  done
  printf '%s\n' "$line"
  "$@"
}
die() {
  echo "demo: $*" >&2
  exit 1
}

# Why the kind tier cannot run here, or nothing when it can.
kind_missing_reason() {
  if ! command -v docker >/dev/null; then
    echo "docker is not on PATH"
  elif ! docker info >/dev/null 2>&1; then
    echo "the Docker daemon does not answer (docker info failed)"
  elif ! command -v kind >/dev/null; then
    echo "kind is not on PATH (https://kind.sigs.k8s.io/docs/user/quick-start/#installation)"
  elif ! command -v kubectl >/dev/null; then
    echo "kubectl is not on PATH"
  fi
}

local_demo() {
  command -v kubectl >/dev/null ||
    die "the local tier applies the manifests with kubectl, which is not on PATH (Debian: apt-get install kubernetes-client)"
  command -v cargo >/dev/null || die "cargo is not on PATH (https://rustup.rs)"
  echo "demo: running the walkthrough on the local tier (no Docker or kind needed)."
  echo "demo: the same manifests, the same binaries; the local tier plays API server, kubelet and kube-proxy."
  cargo build --quiet --workspace --bins
  exec "target/$TRIPLE/debug/e2e" demo
}

# --- kind ----------------------------------------------------------------------------------------
k() { kubectl --context "$CONTEXT" "$@"; }

# GET on a mock's admin API through the API server's service proxy: no port-forward, no extra
# image, works wherever kubectl does.
admin_get() { # namespace service port-name path
  k get --raw "/api/v1/namespaces/$1/services/http:$2:$3/proxy$4"
}

# Print JSON readably when python3 is there, as it is otherwise.
show_json() { # kind-of-summary
  if command -v python3 >/dev/null; then
    python3 -c '
import json, sys
what = sys.argv[1]
data = json.load(sys.stdin)
if what == "edgio":
    inst = data.get("instances", [])
    print("   {} delivery rule(s) in the Edgio mock:".format(len(inst)))
    for i in inst:
        b = i.get("body", {})
        for p in b.get("protocolSets", []):
            print("     {}://{}{}  ->  {}://{}:{}{}   (uuid {}, state {})".format(
                p.get("publishedProtocol"), b.get("publishedHostname"), b.get("publishedUrlPath"),
                p.get("sourceProtocol"), b.get("sourceHostname"), p.get("sourcePort"),
                b.get("sourceUrlPath", ""), i.get("uuid"), (i.get("status") or {}).get("state")))
elif what == "vultr":
    for d in data.get("domains", []):
        recs = d.get("records", [])
        print("   zone {}: {} record(s)".format(d.get("domain"), len(recs)))
        for r in recs:
            print("     {:<28} {:<5} {:>5}  {}".format(
                r.get("name") or "@", str(r.get("type")), str(r.get("ttl")), r.get("data")))
' "$1" || true
  else
    cat
    echo
  fi
}

show_admin_state() { # namespace service summary-kind
  local state
  if state="$(admin_get "$1" "$2" api /__admin/state 2>&1)"; then
    show_json "$3" <<<"$state"
  else
    say "could not read $2's state: $state"
  fi
}

# Poll a command until it succeeds (each try bounded by the command itself), or give up and show
# what the cluster says.
wait_for() { # seconds description command...
  local limit=$1 what="$2"
  local deadline=$((SECONDS + limit))
  shift 2
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      diagnose
      die "timed out after ${limit}s waiting for $what"
    fi
    sleep 2
  done
}

diagnose() {
  echo "demo: --- pods ---" >&2
  k get pods -A -o wide >&2 || true
  echo "demo: --- controller log (last 30 lines per pod) ---" >&2
  k -n edgio-ingress-system logs -l app.kubernetes.io/name=edgio-ingress --tail=30 --prefix >&2 || true
}

ingress_published() {
  [[ -n "$(k -n default get ingress external-pywai-inline-ingress \
    -o jsonpath='{.status.loadBalancer.ingress[0].hostname}')" ]]
}

# The controller's work, as the mocks see it: a rule for the published host, A records.
cdn_rule_present() {
  local state
  state="$(admin_get cdn-mocks edgio-mock-api api /__admin/state)" && grep -q "\"$HOST\"" <<<"$state"
}
dns_records_present() {
  local state
  state="$(admin_get cdn-mocks vultr-mock-api api /__admin/state)" && grep -Eq '"type" *: *"A"' <<<"$state"
}

curl_ok() { curl -fsS --max-time 5 "$@" >/dev/null; }

kind_demo() {
  command -v curl >/dev/null || die "curl is not on PATH"
  step "The cluster: kind '$CLUSTER' (one control plane, two workers; kind-config.yaml)"
  if kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
    say "cluster $CLUSTER exists; reusing it (make demo-down removes it)"
  else
    run kind create cluster --name "$CLUSTER" --config kind-config.yaml --wait 180s
  fi
  run k get nodes -o wide

  step "Images: our static binaries, FROM scratch ($PROFILE build), loaded into the nodes"
  if [[ "$PROFILE" == release ]]; then
    run cargo build --workspace --bins --release
  else
    run cargo build --workspace --bins
  fi
  run e2e/scripts/build-images.sh "$PROFILE" pywai controller edgio-mock vultr-mock
  run kind load docker-image --name "$CLUSTER" \
    edgio-ingress/pywai:dev edgio-ingress/controller:dev \
    edgio-ingress/edgio-mock:dev edgio-ingress/vultr-mock:dev

  step "Install everything: kubectl apply -k manifests"
  say "app/: the article's Appendix 1-3 (pywai Deployment, NodePort Service, Ingress), corrected"
  say "controller/: edgio-ingress (2 replicas, leader election), RBAC, IngressClass edgio"
  say "mocks/: the Edgio Config API + CDN edge and the Vultr DNS API + DNS server"
  local rerun=0
  if k -n edgio-ingress-system get deployment/edgio-ingress-controller >/dev/null 2>&1; then
    rerun=1
  fi
  run k apply -k manifests
  if [[ $rerun -eq 1 ]]; then
    # A re-run must pick up rebuilt images (the tag stays :dev). The mocks restart empty, so the
    # controller restarts after them: on start it reconciles everything into the fresh mocks.
    say "already installed: restarting the pods so they run the images just loaded"
    k -n cdn-mocks rollout restart deployment/edgio-mock deployment/vultr-mock >/dev/null
    k -n cdn-mocks rollout status deployment/edgio-mock --timeout=180s >/dev/null
    k -n cdn-mocks rollout status deployment/vultr-mock --timeout=180s >/dev/null
    k -n edgio-ingress-system rollout restart deployment/edgio-ingress-controller >/dev/null
    k -n default rollout restart deployment/pywai-inline-deployment >/dev/null
  fi
  run k -n cdn-mocks rollout status deployment/edgio-mock --timeout=180s
  run k -n cdn-mocks rollout status deployment/vultr-mock --timeout=180s
  run k -n edgio-ingress-system rollout status deployment/edgio-ingress-controller --timeout=180s
  run k -n default rollout status deployment/pywai-inline-deployment --timeout=180s

  step "The controller sees the Ingress and publishes it"
  run k -n default get ingress external-pywai-inline-ingress
  say "waiting for the controller to write the published host into the Ingress status..."
  wait_for 180 "the Ingress status" ingress_published
  run k -n default get ingress external-pywai-inline-ingress -o wide
  say "events on the Ingress:"
  k -n default get events --field-selector involvedObject.name=external-pywai-inline-ingress \
    -o custom-columns=TYPE:.type,REASON:.reason,MESSAGE:.message 2>/dev/null | sed 's/^/     /' || true

  step "The rule in the (mock) Edgio CDN: published host+path -> origin hostname and the nodePort"
  say "GET /__admin/state on edgio-mock-api (through the API server's service proxy)"
  wait_for 120 "the rule for $HOST in the Edgio mock" cdn_rule_present
  show_admin_state cdn-mocks edgio-mock-api edgio

  step "The records in (mock) Vultr DNS: the origin hostname lists the node addresses"
  say "GET /__admin/state on vultr-mock-api"
  wait_for 120 "A records in the Vultr mock" dns_records_present
  show_admin_state cdn-mocks vultr-mock-api vultr
  if command -v dig >/dev/null; then
    say "a real DNS answer from the mock's DNS server (nodePort 30053/udp, mapped by kind):"
    run dig +short @127.0.0.1 -p "$DNS_PORT" origin.example.com A || true
  fi
  say "node addresses, for comparison:"
  k get nodes -o jsonpath='{range .items[*]}{.metadata.name}{"\t"}{.status.addresses[?(@.type=="InternalIP")].address}{"\n"}{end}' |
    sed 's/^/     /'

  step "curl pywai through its NodePort Service"
  wait_for 60 "pywai on localhost:$NODEPORT" curl_ok "http://localhost:$NODEPORT/"
  run curl -sS "http://localhost:$NODEPORT$PUBLISHED_PATH"
  echo

  step "curl pywai through the CDN edge, with the published Host"
  say "the edge matches $HOST$PUBLISHED_PATH, resolves the origin hostname through the DNS mock,"
  say "and forwards to a node's nodePort; pywai echoes the forwarded headers (Via, X-Forwarded-*)"
  wait_for 120 "the CDN edge to serve $HOST$PUBLISHED_PATH" \
    curl_ok -H "Host: $HOST" "http://localhost:$EDGE_PORT$PUBLISHED_PATH"
  run curl -sS -H "Host: $HOST" "http://localhost:$EDGE_PORT$PUBLISHED_PATH"
  echo

  step "Done: the demo keeps running"
  say "kubectl --context $CONTEXT get ingress,svc,pods -A      look around"
  say "kubectl --context $CONTEXT -n edgio-ingress-system logs -l app.kubernetes.io/name=edgio-ingress"
  say "curl localhost:$NODEPORT/                                pywai via its NodePort"
  say "curl -H 'Host: $HOST' localhost:$EDGE_PORT$PUBLISHED_PATH   pywai via the CDN edge"
  say "make demo-down                                           remove the cluster"
}

case "${DEMO_TIER:-auto}" in
  local) local_demo ;;
  kind) kind_demo ;;
  auto)
    reason="$(kind_missing_reason)"
    if [[ -n "$reason" ]]; then
      echo "demo: the kind demo needs Docker, kind and kubectl: $reason."
      local_demo
    else
      kind_demo
    fi
    ;;
  *) die "DEMO_TIER must be kind, local or auto" ;;
esac
