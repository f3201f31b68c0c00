#!/usr/bin/env bash
# Build the project's container images from the static binaries in target/.
#
#   e2e/scripts/build-images.sh [release|debug] [IMAGE...]   build (default: release, all images)
#   e2e/scripts/build-images.sh --list                       print "IMAGE BINARY" per image
#
# IMAGE is a short name (pywai, controller, edgio-mock, vultr-mock, kube-local); each becomes
# edgio-ingress/<name>:dev. Every image is FROM scratch and built from a throw-away context that
# holds only its binary, e2e/images/etc/ and the host's CA bundle, so no base image is pulled and
# nothing else from the work tree is sent to the daemon. The binaries must already be built:
#   cargo build --workspace --bins --release    (or without --release for debug)
# Each image is started once with --help to prove the binary runs in it (SKIP_SMOKE=1 skips that).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TRIPLE=x86_64-unknown-linux-gnu
REGISTRY=edgio-ingress
TAG=dev

# Image short name -> binary name. check-static.sh reads this table through --list.
declare -A BINARY=(
  [pywai]=pywai
  [controller]=edgio-ingress
  [edgio-mock]=edgio-mock
  [vultr-mock]=vultr-mock
  [kube-local]=kube-local
)
ORDER=(pywai controller edgio-mock vultr-mock kube-local)

die() {
  echo "build-images: $*" >&2
  exit 1
}

if [[ "${1:-}" == "--list" ]]; then
  for name in "${ORDER[@]}"; do
    echo "$REGISTRY/$name:$TAG ${BINARY[$name]}"
  done
  exit 0
fi

profile="${1:-release}"
case "$profile" in
  release | debug) ;;
  *) die "unknown profile '$profile' (expected release or debug)" ;;
esac
shift || true

images=("$@")
if [[ ${#images[@]} -eq 0 ]]; then
  images=("${ORDER[@]}")
fi
for name in "${images[@]}"; do
  [[ -n "${BINARY[$name]+set}" ]] || die "unknown image '$name' (known: ${ORDER[*]})"
done

command -v docker >/dev/null || die "docker is not on PATH"
docker info >/dev/null 2>&1 || die "the Docker daemon does not answer (docker info failed)"

# The host's CA bundle goes into every image: kube's rustls client loads the system roots when a
# kubeconfig names no CA, and a controller talking to the real Edgio/Vultr APIs needs them too.
ca_bundle=""
for candidate in "${SSL_CERT_FILE:-}" /etc/ssl/certs/ca-certificates.crt /etc/pki/tls/certs/ca-bundle.crt; do
  if [[ -n "$candidate" && -s "$candidate" ]]; then
    ca_bundle="$candidate"
    break
  fi
done
if [[ -z "$ca_bundle" ]]; then
  echo "build-images: warning: no CA bundle found (set SSL_CERT_FILE); the images will have no TLS roots" >&2
fi

bin_dir="$ROOT/target/$TRIPLE/$profile"
ctx_root="$(mktemp -d)"
trap 'rm -rf "$ctx_root"' EXIT

for name in "${images[@]}"; do
  bin="${BINARY[$name]}"
  image="$REGISTRY/$name:$TAG"
  src="$bin_dir/$bin"
  [[ -x "$src" ]] || die "$src is missing; build it first: cargo build -p <crate> --bin $bin$([[ $profile == release ]] && echo ' --release')"
  # A dynamically linked binary would build fine and then fail to start in a scratch image.
  if command -v file >/dev/null && file -L "$src" | grep -q 'dynamically linked'; then
    die "$src is dynamically linked; the images need the static build (.cargo/config.toml)"
  fi

  ctx="$ctx_root/$name"
  mkdir -p "$ctx"
  cp "$src" "$ctx/$bin"
  cp -r "$ROOT/e2e/images/etc" "$ctx/etc"
  if [[ -n "$ca_bundle" ]]; then
    mkdir -p "$ctx/etc/ssl/certs"
    cp -L "$ca_bundle" "$ctx/etc/ssl/certs/ca-certificates.crt"
  fi
  cp "$ROOT/e2e/images/$name.Dockerfile" "$ctx/Dockerfile"

  echo "build-images: $image <- target/$TRIPLE/$profile/$bin"
  # --pull=false: FROM scratch needs no base image and the build must not reach a registry.
  if ! out="$(docker build --pull=false -t "$image" "$ctx" 2>&1)"; then
    echo "$out" >&2
    die "docker build of $image failed"
  fi
  size="$(docker image inspect --format '{{.Size}}' "$image")"

  if [[ "${SKIP_SMOKE:-0}" != 1 ]]; then
    if ! out="$(docker run --rm --network none "$image" --help 2>&1)"; then
      echo "$out" >&2
      die "$image does not start ('$bin --help' failed inside the image)"
    fi
  fi
  printf 'build-images: %-32s %6.1f MiB\n' "$image" "$(awk -v b="$size" 'BEGIN { print b / 1048576 }')"
done
