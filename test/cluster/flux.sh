#!/usr/bin/env bash
# Builds Flux's source-controller and kustomize-controller at pinned versions
# from the Go module proxy into a cache outside the clone, keyed by version,
# copies their CRDs beside them, and prints the folder. A second run finds the
# binaries and returns at once; a lock keeps parallel runs from colliding.
#
#   $SEALBOX_CACHE/flux-sc<V>-kc<V>/bin/{source-controller,kustomize-controller}
#   $SEALBOX_CACHE/flux-sc<V>-kc<V>/crds/*.yaml
#
# Neither module builds with `go install mod@version` (both carry replace
# directives), so each gets a scratch module that copies their non-local
# replaces and requires the controller as a tool.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.sh
source "$here/versions.sh"

dir="$SEALBOX_CACHE/flux-sc$FLUX_SOURCE_VERSION-kc$FLUX_KUSTOMIZE_VERSION"
export CGO_ENABLED=0 GOFLAGS="-buildvcs=false -mod=mod"
digest='github.com/opencontainers/go-digest => github.com/opencontainers/go-digest v1.0.1-0.20220411205349-bde1400a84be'

done_already() {
  [[ -x "$dir/bin/source-controller" && -x "$dir/bin/kustomize-controller" && -f "$dir/crds/.complete" ]]
}

# $1 name, $2 module, $3 version, $4... replace lines
build_one() {
  local name="$1" mod="$2" ver="$3"; shift 3
  [[ -x "$dir/bin/$name" ]] && return 0
  local work="$dir/src/$name"
  rm -rf "$work"; mkdir -p "$work"
  {
    echo "module local/$name"
    echo "go 1.26.0"
    echo "replace ("
    printf '  %s\n' "$@"
    echo ")"
  } > "$work/go.mod"
  echo "sealbox: building $name v$ver (first time only)" >&2
  (cd "$work" && go get -tool "$mod@v$ver" >&2 \
    && go build -trimpath -ldflags "-s -w" -o "$dir/bin/$name.tmp" "$mod")
  mv "$dir/bin/$name.tmp" "$dir/bin/$name"
}

copy_crds() {
  [[ -f "$dir/crds/.complete" ]] && return 0
  mkdir -p "$dir/crds"
  local m src
  for m in "source-controller@v$FLUX_SOURCE_VERSION" "kustomize-controller@v$FLUX_KUSTOMIZE_VERSION"; do
    src="$(cd "$dir/src/${m%@*}" && go mod download -json "github.com/fluxcd/$m" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
    cp "$src"/config/crd/bases/*.yaml "$dir/crds/"
  done
  chmod u+w "$dir"/crds/*.yaml
  touch "$dir/crds/.complete"
}

if ! done_already; then
  command -v go >/dev/null || { echo "sealbox: go is needed to build flux's controllers" >&2; exit 1; }
  mkdir -p "$dir/bin"
  exec 9>"$dir/.lock"
  flock 9
  if ! done_already; then
    build_one source-controller github.com/fluxcd/source-controller "$FLUX_SOURCE_VERSION" \
      "$digest" 'github.com/fluxcd/pkg/artifact => github.com/fluxcd/pkg/artifact v0.18.0'
    build_one kustomize-controller github.com/fluxcd/kustomize-controller "$FLUX_KUSTOMIZE_VERSION" \
      "$digest" 'sigs.k8s.io/kustomize/api => sigs.k8s.io/kustomize/api v0.21.1' \
      'sigs.k8s.io/kustomize/kyaml => sigs.k8s.io/kustomize/kyaml v0.21.1' \
      'gopkg.in/yaml.v3 => gopkg.in/yaml.v3 v3.0.1'
    copy_crds
  fi
fi
echo "$dir"
