#!/usr/bin/env bash
# Installs moto's server (the AWS KMS test peer) from PyPI into a virtualenv
# cached outside the clone, keyed by version, and prints the path of
# moto_server. A second run only checks the marker and prints the path.
#
# We install moto with flask and flask-cors only, not moto[server]: the
# [server] extra pulls in every service's dependencies (cfn-lint, docker,
# openapi tooling, ...), and KMS needs none of them.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.sh
source "$here/versions.sh"

dir="$SEALBOX_CACHE/moto-v$MOTO_VERSION-flask-v$FLASK_VERSION"
bin="$dir/venv/bin/moto_server"
marker="$dir/installed"

if [[ ! -f "$marker" ]]; then
  echo "sealbox: installing moto $MOTO_VERSION into $dir (first time only)" >&2
  command -v python3 >/dev/null || { echo "sealbox: python3 (>= 3.10) is needed to install moto" >&2; exit 1; }
  rm -rf "$dir"
  mkdir -p "$dir"
  python3 -m venv "$dir/venv"
  "$dir/venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "moto==$MOTO_VERSION" "flask==$FLASK_VERSION" "flask-cors==$FLASK_CORS_VERSION" >&2
  # Fails here, not in a test, when an import the KMS server needs is missing.
  "$dir/venv/bin/python" -c 'import moto.server, moto.kms.responses' >&2
  [[ -x "$bin" ]] || { echo "sealbox: moto installed but $bin is missing" >&2; exit 1; }
  touch "$marker"
fi
echo "$bin"
