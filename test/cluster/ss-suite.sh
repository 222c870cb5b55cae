#!/usr/bin/env bash
# Builds Sealed Secrets' own integration suite
# (github.com/bitnami-labs/sealed-secrets/integration, Ginkgo, build tag
# `integration`) with `go test -c` from a scratch module that requires it, and
# installs the kubeseal it drives (the same version, into bench/peers.sh's
# folder), into a cache outside the clone keyed by version. Prints one JSON
# object: {"suite", "kubeseal", "crd"}. A second run finds the binaries and
# returns at once; a lock keeps parallel runs apart. `ss-suite.sh kubeseal`
# installs and prints only kubeseal's path (for tests that need no suite);
# `ss-suite.sh controller` likewise Sealed Secrets' own controller (the same
# binary bench/peers.sh installs), for test/integration/migration-rollback.test.ts.
#
#   $SEALBOX_CACHE/ss-suite-v<SEALED_SECRETS_VERSION>/bin/integration.test
#   $SEALBOX_CACHE/peers-sealed-secrets-v<SEALED_SECRETS_VERSION>/bin/kubeseal
#   $SEALBOX_CACHE/peers-sealed-secrets-v<SEALED_SECRETS_VERSION>/bin/controller
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.sh
source "$here/versions.sh"
# shellcheck source=../../bench/versions.sh
source "$here/../../bench/versions.sh"

module=github.com/bitnami-labs/sealed-secrets
dir="$SEALBOX_CACHE/ss-suite-v$SEALED_SECRETS_VERSION"
bin="$dir/bin/integration.test"
peers="$SEALBOX_CACHE/peers-sealed-secrets-v$SEALED_SECRETS_VERSION/bin"
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false

need_go() { command -v go >/dev/null || { echo "sealbox: go is needed to build the sealed-secrets suite" >&2; exit 1; }; }

build_suite() {
  echo "sealbox: go test -c -tags integration $module/integration@v$SEALED_SECRETS_VERSION (first time only)" >&2
  local tmp; tmp="$(mktemp -d "$dir/.build.XXXXXX")"
  # the scratch module: requiring the suite's module is enough; -mod=mod lets
  # go fill go.sum with the suite's test-only dependencies (ginkgo, gomega)
  printf 'module sealbox.local/ss-suite\n\ngo 1.26\n\nrequire %s v%s\n' "$module" "$SEALED_SECRETS_VERSION" >"$tmp/go.mod"
  if ! (cd "$tmp" && nice -n 10 go test -mod=mod -c -tags integration -trimpath -ldflags "-s -w" \
      -o "$tmp/integration.test" "$module/integration" >&2); then
    rm -rf "$tmp"; exit 1
  fi
  mv "$tmp/integration.test" "$bin"
  rm -rf "$tmp"
}

install_peer() { # kubeseal | controller
  echo "sealbox: go install $module/cmd/$1@v$SEALED_SECRETS_VERSION (first time only)" >&2
  mkdir -p "$peers"
  local tmp; tmp="$(mktemp -d "$peers/.gobin.XXXXXX")"
  if ! GOBIN="$tmp" nice -n 10 go install "$module/cmd/$1@v$SEALED_SECRETS_VERSION" >&2; then rm -rf "$tmp"; exit 1; fi
  mv "$tmp/$1" "$peers/$1"
  rm -rf "$tmp"
}

if [[ "${1:-}" == kubeseal || "${1:-}" == controller ]]; then
  if [[ ! -x "$peers/$1" ]]; then
    need_go
    mkdir -p "$dir"
    exec 9>"$dir/.lock"
    flock 9
    [[ -x "$peers/$1" ]] || install_peer "$1"
  fi
  echo "$peers/$1"
  exit 0
fi

if [[ ! -x "$bin" || ! -x "$peers/kubeseal" ]]; then
  need_go
  mkdir -p "$dir/bin"
  exec 9>"$dir/.lock"
  flock 9
  [[ -x "$bin" ]] || build_suite
  [[ -x "$peers/kubeseal" ]] || install_peer kubeseal
fi

# the bitnami.com/v1alpha1 CRD ships in the module zip (helm chart)
crd="$(go env GOMODCACHE)/$module@v$SEALED_SECRETS_VERSION/helm/sealed-secrets/crds/bitnami.com_sealedsecrets.yaml"
[[ -f "$crd" ]] || go mod download "$module@v$SEALED_SECRETS_VERSION" >&2
[[ -f "$crd" ]] || { echo "sealbox: sealed-secrets CRD not found at $crd" >&2; exit 1; }
printf '{"suite":"%s","kubeseal":"%s","crd":"%s"}\n' "$bin" "$peers/kubeseal" "$crd"
