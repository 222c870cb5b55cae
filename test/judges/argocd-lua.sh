#!/usr/bin/env bash
# Builds a tiny program around Argo CD's own Lua VM (the Go package
# github.com/argoproj/argo-cd/v3/util/lua, the code argocd's application
# controller runs health checks with) and prints the binary's path. The
# program's source is written here into the cache, not kept in the clone.
#
#   $SEALBOX_CACHE/argocd-lua-v<ARGOCD_VERSION>/bin/argocd-lua
#
# The program reads {"script": "<health.lua>", "objects": [...]} as JSON on
# stdin, installs the script as argocd-cm's resource.customizations.health
# entry for each object's group/kind (what a user does), and prints, per
# object, the health Argo CD computes: [{"key", "health", "error"}].
# A second run finds the binary and returns at once.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.sh
source "$here/versions.sh"

dir="$SEALBOX_CACHE/argocd-lua-v$ARGOCD_VERSION"
[[ -x "$dir/bin/argocd-lua" ]] && { echo "$dir/bin/argocd-lua"; exit 0; }
command -v go >/dev/null || { echo "sealbox: go is needed to build Argo CD's Lua VM" >&2; exit 1; }
mkdir -p "$dir/src" "$dir/bin"
exec 9>"$dir/.lock"
flock 9 # parallel runs wait for the first one's build
[[ -x "$dir/bin/argocd-lua" ]] && { echo "$dir/bin/argocd-lua"; exit 0; }

# argo-cd needs go >= 1.27: GOTOOLCHAIN fetches that toolchain from the proxy.
export GOTOOLCHAIN="$ARGOCD_GO" CGO_ENABLED=0 GOFLAGS="-buildvcs=false -mod=mod"
cd "$dir/src"
# argo-cd's own go.mod replaces gitops-engine with a local folder and pins the
# k8s.io modules by replace; replaces of a dependency are ignored, so copy the
# k8s.io ones and take gitops-engine from the proxy at the same tag.
zip="$(go mod download -json "github.com/argoproj/argo-cd/v3@v$ARGOCD_VERSION" | sed -n 's/^\t"GoMod": "\(.*\)",$/\1/p')"
{
  echo "module local/argocdlua"
  echo "go 1.27.0"
  echo "require ("
  echo "  github.com/argoproj/argo-cd/v3 v$ARGOCD_VERSION"
  echo "  github.com/argoproj/argo-cd/gitops-engine/v3 v$ARGOCD_VERSION"
  echo ")"
  sed -n '/^replace (/,/^)/p' "$zip"
} > go.mod
cat > main.go <<'GO'
// Judges objects with Argo CD's Lua VM (util/lua), as argocd-cm's
// resource.customizations.health.<group>_<kind> would.
package main

import (
	"encoding/json"
	"os"

	"github.com/argoproj/argo-cd/gitops-engine/v3/pkg/health"
	appv1 "github.com/argoproj/argo-cd/v3/pkg/apis/application/v1alpha1"
	"github.com/argoproj/argo-cd/v3/util/lua"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

type input struct {
	Script  string           `json:"script"`
	Objects []map[string]any `json:"objects"`
}

type verdict struct {
	Key    string               `json:"key"`
	Health *health.HealthStatus `json:"health"`
	Error  string               `json:"error,omitempty"`
}

func main() {
	var in input
	if err := json.NewDecoder(os.Stdin).Decode(&in); err != nil {
		os.Stderr.WriteString("argocd-lua: bad input: " + err.Error() + "\n")
		os.Exit(2)
	}
	out := []verdict{}
	for _, o := range in.Objects {
		obj := &unstructured.Unstructured{Object: o}
		key := lua.GetConfigMapKey(obj.GroupVersionKind())
		overrides := lua.ResourceHealthOverrides{key: appv1.ResourceOverride{HealthLua: in.Script}}
		h, err := overrides.GetResourceHealth(obj)
		v := verdict{Key: key, Health: h}
		if err != nil {
			v.Error = err.Error()
		}
		out = append(out, v)
	}
	_ = json.NewEncoder(os.Stdout).Encode(out)
}
GO
echo "sealbox: building Argo CD v$ARGOCD_VERSION's Lua VM (first time only)" >&2
nice -n 10 go mod tidy >&2
nice -n 10 go build -trimpath -ldflags "-s -w" -o "$dir/bin/argocd-lua.tmp" . >&2
mv "$dir/bin/argocd-lua.tmp" "$dir/bin/argocd-lua"
echo "$dir/bin/argocd-lua"
