#!/usr/bin/env bash
# Builds pinned kube-apiserver, kube-controller-manager, kubectl and etcd from
# the Go module proxy into a cache keyed by version. A second run reuses the
# binaries; a cache from before kubectl was added gets just kubectl.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.sh
source "$here/versions.sh"

bin="$SEALBOX_CACHE/k8s-v$K8S_VERSION/bin"
etcd_bin="$SEALBOX_CACHE/etcd-v$ETCD_VERSION/bin"
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false

work="$SEALBOX_CACHE/k8s-v$K8S_VERSION/src"
minor="${K8S_VERSION#*.}"; minor="${minor%%.*}"
ldflags="-s -w -X k8s.io/component-base/version.gitVersion=v$K8S_VERSION \
  -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor"

# A scratch module that requires k8s.io/kubernetes and replaces every staging
# module with its matching release.
write_k8s_module() {
  mkdir -p "$work" "$bin"
  cd "$work"
  [[ -f go.mod ]] && return 0
  {
    echo "module local/k8sbins"
    echo "go 1.24.0"
    echo "require k8s.io/kubernetes v$K8S_VERSION"
    echo "replace ("
    for m in api apiextensions-apiserver apimachinery apiserver cli-runtime client-go cloud-provider \
      cluster-bootstrap code-generator component-base component-helpers controller-manager cri-api cri-client \
      csi-translation-lib dynamic-resource-allocation endpointslice externaljwt kms kube-aggregator \
      kube-controller-manager kube-proxy kube-scheduler kubectl kubelet metrics mount-utils \
      pod-security-admission sample-apiserver sample-cli-plugin sample-controller; do
      echo "  k8s.io/$m => k8s.io/$m v$K8S_STAGING"
    done
    echo ")"
  } > go.mod
}

build_k8s() {
  [[ -x "$bin/kube-apiserver" && -x "$bin/kube-controller-manager" ]] && return 0
  write_k8s_module
  echo "sealbox: building kubernetes v$K8S_VERSION (first time only; ~9.5 min on 2 cores with etcd and kubectl)" >&2
  go get "k8s.io/kubernetes/cmd/kube-apiserver@v$K8S_VERSION" "k8s.io/kubernetes/cmd/kube-controller-manager@v$K8S_VERSION"
  go build -trimpath -o "$bin/" -ldflags "$ldflags" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager
}

# The real kubectl, same source and version as the API server: the plugin test
# (kubectl sealbox) and the chart's server-side dry runs use it. Shares most
# packages with the two above, so it adds ~2 min to a cold build.
build_kubectl() {
  [[ -x "$bin/kubectl" ]] && return 0
  write_k8s_module
  echo "sealbox: building kubectl v$K8S_VERSION (first time only)" >&2
  go get "k8s.io/kubernetes/cmd/kubectl@v$K8S_VERSION"
  go build -trimpath -o "$bin/kubectl.tmp" -ldflags "$ldflags" k8s.io/kubernetes/cmd/kubectl
  mv "$bin/kubectl.tmp" "$bin/kubectl"
}

build_etcd() {
  [[ -x "$etcd_bin/etcd" ]] && return 0
  local work="$SEALBOX_CACHE/etcd-v$ETCD_VERSION/src"
  mkdir -p "$work" "$etcd_bin"
  cd "$work"
  printf 'module local/etcd\ngo 1.25.0\n' > go.mod
  echo "sealbox: building etcd v$ETCD_VERSION (first time only)" >&2
  go get "go.etcd.io/etcd/server/v3@v$ETCD_VERSION"
  go build -trimpath -ldflags "-s -w" -o "$etcd_bin/etcd" go.etcd.io/etcd/server/v3
}

build_etcd
build_k8s
build_kubectl
echo "$bin"
