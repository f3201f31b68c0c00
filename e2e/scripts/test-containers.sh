#!/usr/bin/env bash
# The container tier (make test-containers, part of make test): the e2e scenarios with our images
# started as containers on a private Docker network, each at its own address.
#
#   e2e/scripts/test-containers.sh [e2e containers options, e.g. --only apply,edit]
#
# Without a Docker daemon it prints "skipped: <reason>" and exits 0. The debug binaries must be
# built (make build). Images come from e2e/scripts/build-images.sh debug; while that script does
# not exist, minimal FROM scratch images are built here. Every container and the network carry
# the label edgio-ingress.e2e.run=$E2E_RUN_ID and are removed on exit, whatever happens.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
BIN="target/x86_64-unknown-linux-gnu/debug"

if ! command -v docker >/dev/null 2>&1; then
  echo "test-containers: skipped: the docker CLI is not installed"
  exit 0
fi
if ! reason="$(docker info 2>&1 >/dev/null)"; then
  echo "test-containers: skipped: no Docker daemon answers (docker info: ${reason##*$'\n'})"
  exit 0
fi

for bin in e2e pywai edgio-ingress edgio-mock vultr-mock kube-local; do
  [[ -x "$BIN/$bin" ]] || { echo "test-containers: $BIN/$bin is missing; run make build" >&2; exit 1; }
done

if [[ -x e2e/scripts/build-images.sh ]]; then
  SKIP_SMOKE=1 e2e/scripts/build-images.sh debug
else
  # Fallback: one FROM scratch image per binary, from a context holding only that binary.
  for pair in pywai:pywai controller:edgio-ingress edgio-mock:edgio-mock vultr-mock:vultr-mock kube-local:kube-local; do
    image="${pair%%:*}" bin="${pair#*:}"
    ctx="$(mktemp -d)"
    cp "$BIN/$bin" "$ctx/$bin"
    printf 'FROM scratch\nCOPY %s /usr/local/bin/%s\nENTRYPOINT ["/usr/local/bin/%s"]\n' "$bin" "$bin" "$bin" >"$ctx/Dockerfile"
    docker build -q -t "edgio-ingress/$image:dev" "$ctx" >/dev/null
    rm -rf "$ctx"
    echo "test-containers: built edgio-ingress/$image:dev"
  done
fi

export E2E_RUN_ID="ct$$"
cleanup() {
  # The harness removes its containers itself; this catches a harness that was killed.
  local ids=()
  mapfile -t ids < <(docker ps -aq --filter "label=edgio-ingress.e2e.run=$E2E_RUN_ID" 2>/dev/null || true)
  [[ ${#ids[@]} -eq 0 ]] || docker rm -f -v "${ids[@]}" >/dev/null 2>&1 || true
  docker network rm "e2e-$E2E_RUN_ID" >/dev/null 2>&1 || true
}
trap cleanup EXIT

"$BIN/e2e" containers "$@"
