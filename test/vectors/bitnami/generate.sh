#!/usr/bin/env bash
# Regenerates the Sealed Secrets vectors with the real kubeseal (bench/peers.sh
# installs it at the pinned version): secret.yaml sealed for test key a in each
# scope, and strict for test key b. kubeseal --cert works offline. Run from the
# repository root: bash test/vectors/bitnami/generate.sh
set -euo pipefail
cd "$(dirname "$0")"
kubeseal="$(bash ../../../bench/peers.sh | node -e 'process.stdin.on("data", (d) => console.log(JSON.parse(d).kubeseal))')"
"$kubeseal" --version >version.txt
for scope in strict namespace-wide cluster-wide; do
  "$kubeseal" --cert ../keys/a.cert.pem --scope "$scope" -o yaml <secret.yaml >"a.$scope.yaml"
done
"$kubeseal" --cert ../keys/b.cert.pem --scope strict -o yaml <secret.yaml >b.strict.yaml
