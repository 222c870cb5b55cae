# Pinned versions of the programs that judge sealbox's status the way GitOps
# tools do (test/judges). The one place to change them.
# shellcheck shell=bash
ARGOCD_VERSION=3.6.1          # github.com/argoproj/argo-cd/v3 (util/lua: Argo CD's Lua VM)
ARGOCD_GO=go1.27.3            # argo-cd v3.6 needs go >= 1.27; fetched by GOTOOLCHAIN
SEALBOX_CACHE="${SEALBOX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sealbox}"
