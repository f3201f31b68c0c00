# edgio-ingress: a Kubernetes Ingress controller that publishes through the Edgio Delivery CDN.
#
#   make demo     the whole article, narrated (kind when Docker and kind are present, else the local tier)
#   make test     every test: lint, unit and conformance tests, static checks, compat, local e2e, container tier
#
# Everything is built for $(TRIPLE) with a static C runtime (see .cargo/config.toml).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
CARGO ?= cargo
TRIPLE := x86_64-unknown-linux-gnu
DEBUG_BIN := target/$(TRIPLE)/debug

.PHONY: help build build-release lint unit test e2e-local e2e demo demo-down bench-pywai \
        images check-static compat test-containers clean

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | column -t -s $$'\t'

build: ## build every binary (debug)
	$(CARGO) build --workspace --bins

build-release: ## build every binary (release, stripped, static)
	$(CARGO) build --workspace --bins --release

lint: ## rustfmt and clippy, warnings are errors
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

unit: build ## unit, property, wire-format and conformance tests
	$(CARGO) test --workspace

test: lint unit check-static compat e2e-local test-containers ## every test (what CI runs)

compat: build ## other people's clients against our mocks: Limelight's signer, dns-lexicon's Vultr provider
	python3 e2e/compat/edgio_official_signer.py $(DEBUG_BIN)/edgio-mock
	python3 e2e/compat/vultr_lexicon.py $(DEBUG_BIN)/vultr-mock

e2e-local: build ## the end-to-end scenarios on the local tier (no Docker, no kind)
	$(DEBUG_BIN)/e2e local

check-static: ## manifests validate, kustomize renders, kind-config parses, images have build targets
	e2e/scripts/check-static.sh

images: build-release ## container images from the static release binaries
	e2e/scripts/build-images.sh release

test-containers: build ## the same scenarios with our images as containers on a private network
	e2e/scripts/test-containers.sh

demo: ## the narrated walkthrough: on kind when present, else on the local tier
	e2e/scripts/demo.sh

demo-down: ## remove the kind demo cluster
	e2e/scripts/demo-down.sh

e2e: ## the end-to-end scenarios against a fresh kind cluster
	e2e/scripts/e2e-kind.sh

bench-pywai: ## pywai vs nginx under the same wrk load
	pywai/bench/bench.sh

clean:
	$(CARGO) clean
	rm -rf .e2e
