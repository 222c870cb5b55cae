#!/usr/bin/env bash
# Installs the real Helm (helm.sh/helm/v3/cmd/helm) with `go install` at the
# pinned version into a cache outside the clone, keyed by version, and prints
# the binary's path. A second run finds the binary and returns at once.
#
#   $SEALBOX_CACHE/helm-v<HELM_VERSION>/bin/helm
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.sh
source "$here/versions.sh"

dir="$SEALBOX_CACHE/helm-v$HELM_VERSION"
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false

if [[ ! -x "$dir/bin/helm" ]]; then
  command -v go >/dev/null || { echo "sealbox: go is needed to install helm" >&2; exit 1; }
  echo "sealbox: go install helm.sh/helm/v3/cmd/helm@v$HELM_VERSION (first time only; 3.5 min of CPU on 2 cores)" >&2
  mkdir -p "$dir/bin"
  # build into a temporary GOBIN, then move: an interrupted build never leaves a half binary
  tmp="$(mktemp -d "$dir/.gobin.XXXXXX")"
  if ! GOBIN="$tmp" go install -trimpath -ldflags "-s -w" "helm.sh/helm/v3/cmd/helm@v$HELM_VERSION" >&2; then
    rm -rf "$tmp"; exit 1
  fi
  mv "$tmp/helm" "$dir/bin/helm"
  rm -rf "$tmp"
fi
echo "$dir/bin/helm"
