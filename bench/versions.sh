# Pinned versions of the benchmark peers. The one place to change them.
# shellcheck shell=bash
SEALED_SECRETS_VERSION=0.36.6   # github.com/bitnami-labs/sealed-secrets (kubeseal, controller)
SOPS_VERSION=3.13.3             # github.com/getsops/sops/v3 (sops)
SEALBOX_CACHE="${SEALBOX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sealbox}"
