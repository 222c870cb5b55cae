#!/usr/bin/env bash
# Installs the benchmark peers with `go install` at pinned versions into a
# cache outside the clone, keyed by version, and prints one JSON object with
# their paths. A second run finds the binaries and returns at once.
#
#   $SEALBOX_CACHE/peers-sealed-secrets-v<V>/bin/{kubeseal,controller}
#   $SEALBOX_CACHE/peers-sops-v<V>/bin/sops
#
# `bench/peers.sh sops` installs only sops and prints its path.
#
# Versions: `go list -m -versions <module>` lists only v0.27.1 and v0.40.0 of
# sealed-secrets on our proxy, and v0.40.0 declares its module path as
# github.com/bitnami/sealed-secrets, so `go install` of the bitnami-labs path
# at v0.40.0 fails ("module declares its path as ..."), and the new path is not
# served. v0.36.6 (the version ../shared/TEST-PEERS.md names) is served when
# asked for directly (`go list -m github.com/bitnami-labs/sealed-secrets@v0.36.6`).
# sops: newest listed is v3.13.3.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.sh
source "$here/versions.sh"

ss_dir="$SEALBOX_CACHE/peers-sealed-secrets-v$SEALED_SECRETS_VERSION"
sops_dir="$SEALBOX_CACHE/peers-sops-v$SOPS_VERSION"
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false

install() { # dir module/cmd version
  local dir="$1" pkg="$2" version="$3" name
  name="$(basename "$pkg")"
  [[ -x "$dir/bin/$name" ]] && return 0
  command -v go >/dev/null || { echo "bench: go (>= 1.26) is needed to install $pkg" >&2; exit 1; }
  echo "bench: go install $pkg@v$version (first time only)" >&2
  mkdir -p "$dir/bin"
  # install into a temporary GOBIN, then move: an interrupted build never leaves a half binary
  local tmp; tmp="$(mktemp -d "$dir/.gobin.XXXXXX")"
  if ! GOBIN="$tmp" go install "$pkg@v$version" >&2; then rm -rf "$tmp"; exit 1; fi
  mv "$tmp/$name" "$dir/bin/$name"
  rm -rf "$tmp"
}

# `peers.sh sops`: only sops (what test/kms/convert-sops.test.ts and .ci/run need); prints its path
if [[ "${1:-}" == sops ]]; then
  install "$sops_dir" github.com/getsops/sops/v3/cmd/sops "$SOPS_VERSION"
  echo "$sops_dir/bin/sops"
  exit 0
fi

install "$ss_dir" github.com/bitnami-labs/sealed-secrets/cmd/kubeseal "$SEALED_SECRETS_VERSION"
install "$ss_dir" github.com/bitnami-labs/sealed-secrets/cmd/controller "$SEALED_SECRETS_VERSION"
install "$sops_dir" github.com/getsops/sops/v3/cmd/sops "$SOPS_VERSION"

# The controller's CRD ships in the module zip (helm chart); the module is in
# the module cache after `go install`, or is downloaded (small) when the
# binaries came from an earlier cache.
modcache="$(go env GOMODCACHE)"
crd="$modcache/github.com/bitnami-labs/sealed-secrets@v$SEALED_SECRETS_VERSION/helm/sealed-secrets/crds/bitnami.com_sealedsecrets.yaml"
if [[ ! -f "$crd" ]]; then
  go mod download "github.com/bitnami-labs/sealed-secrets@v$SEALED_SECRETS_VERSION" >&2
fi
[[ -f "$crd" ]] || { echo "bench: sealed-secrets CRD not found at $crd" >&2; exit 1; }

printf '{"sealedSecretsVersion":"%s","sopsVersion":"%s","kubeseal":"%s","controller":"%s","sops":"%s","crd":"%s"}\n' \
  "$SEALED_SECRETS_VERSION" "$SOPS_VERSION" "$ss_dir/bin/kubeseal" "$ss_dir/bin/controller" "$sops_dir/bin/sops" "$crd"
