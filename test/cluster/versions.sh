# Pinned versions of the real test peers. The one place to change them.
# shellcheck shell=bash
K8S_VERSION=1.34.4        # k8s.io/kubernetes (kube-apiserver, kube-controller-manager)
K8S_STAGING=0.34.4        # matching k8s.io/* staging modules
ETCD_VERSION=3.6.8        # go.etcd.io/etcd/server/v3
HELM_VERSION=3.22.0        # helm.sh/helm/v3 (charts/sealbox tests)
SEALBOX_CACHE="${SEALBOX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sealbox}"
FLUX_SOURCE_VERSION=1.9.6     # github.com/fluxcd/source-controller (test/gitops)
FLUX_KUSTOMIZE_VERSION=1.9.6  # github.com/fluxcd/kustomize-controller (test/gitops)
