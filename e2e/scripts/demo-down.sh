#!/usr/bin/env bash
# `make demo-down`: delete the kind cluster `make demo` created (KIND_CLUSTER, default
# edgio-ingress-demo). The local-tier demo leaves nothing running, so there is nothing else to do.
set -euo pipefail

CLUSTER="${KIND_CLUSTER:-edgio-ingress-demo}"

if ! command -v kind >/dev/null; then
  echo "demo-down: kind is not on PATH, so there is no kind demo cluster to remove."
  exit 0
fi
if kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
  kind delete cluster --name "$CLUSTER"
else
  echo "demo-down: no kind cluster named $CLUSTER."
fi
