#!/usr/bin/env bash
# Builds pinned kube-apiserver, kube-controller-manager and etcd from the Go
# module proxy into a cache keyed by version. A second run reuses the binaries.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.sh
source "$here/versions.sh"

bin="$SEALBOX_CACHE/k8s-v$K8S_VERSION/bin"
etcd_bin="$SEALBOX_CACHE/etcd-v$ETCD_VERSION/bin"
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false

build_k8s() {
  [[ -x "$bin/kube-apiserver" && -x "$bin/kube-controller-manager" ]] && return 0
  local work="$SEALBOX_CACHE/k8s-v$K8S_VERSION/src"
  mkdir -p "$work" "$bin"
  cd "$work"
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
  echo "sealbox: building kubernetes v$K8S_VERSION (first time only; ~7 min on 2 cores)" >&2
  go get "k8s.io/kubernetes/cmd/kube-apiserver@v$K8S_VERSION" "k8s.io/kubernetes/cmd/kube-controller-manager@v$K8S_VERSION"
  local minor="${K8S_VERSION#*.}"; minor="${minor%%.*}"
  go build -trimpath -o "$bin/" -ldflags "-s -w \
    -X k8s.io/component-base/version.gitVersion=v$K8S_VERSION \
    -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager
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
echo "$bin"
