#!/usr/bin/env bash
# Installs Lowkey Vault (the Azure Key Vault test peer) from Maven Central into
# a cache outside the clone, keyed by version, with a TLS key store of our own
# whose CA certificate Node can trust (no "insecure TLS" switch needed).
# Prints the install directory, which holds:
#   lowkey-vault-app.jar  the Spring Boot application (java -jar)
#   keystore.p12          server certificate and key for 127.0.0.1/localhost
#   keystore.password     the key store's password
#   ca.pem                the certificate to trust (it is self-signed)
# A second run only checks the marker and prints the directory.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.sh
source "$here/versions.sh"

dir="$SEALBOX_CACHE/lowkey-v$LOWKEY_VERSION"
marker="$dir/installed"
artifact="com.github.nagyesta.lowkey-vault:lowkey-vault-app:$LOWKEY_VERSION"

fail() { echo "sealbox: lowkey.sh: $*" >&2; exit 1; }

if [[ ! -f "$marker" ]]; then
  echo "sealbox: installing Lowkey Vault $LOWKEY_VERSION into $dir (first time only)" >&2
  command -v java >/dev/null || fail "java (17+) is needed to run Lowkey Vault $LOWKEY_VERSION"
  command -v mvn >/dev/null || fail "mvn is needed to fetch $artifact from Maven Central"
  command -v openssl >/dev/null || fail "openssl is needed to make Lowkey Vault's TLS certificate"
  rm -rf "$dir"
  mkdir -p "$dir"
  # A private local repository: no cached "not found" from an earlier attempt
  # in ~/.m2 can hide a fresh download, and the jar lives only in our cache.
  repo="$dir/m2"
  if ! mvn -q -B dependency:get -Dartifact="$artifact" -Dtransitive=false \
      -Dmaven.repo.local="$repo" >"$dir/mvn.log" 2>&1; then
    # Maven's reason in one line, without its colour codes and help text.
    reason="$(sed 's/\x1b\[[0-9;]*m//g' "$dir/mvn.log" | grep -m1 -oiE "(could not|couldn't|failed to)[^[]*" || true)"
    fail "could not download $artifact from the Maven registry: ${reason:-see $dir/mvn.log} (log: $dir/mvn.log)"
  fi
  jar="$(find "$repo" -name "lowkey-vault-app-$LOWKEY_VERSION.jar" | head -n 1)"
  [[ -n "$jar" ]] || fail "maven reported success but lowkey-vault-app-$LOWKEY_VERSION.jar is not in $repo"
  mv "$jar" "$dir/lowkey-vault-app.jar"
  rm -rf "$repo"

  # Our own self-signed certificate for the loopback names the tests use.
  password="$(openssl rand -hex 16)"
  printf '%s' "$password" > "$dir/keystore.password"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=sealbox-lowkey-test \
    -addext 'subjectAltName=IP:127.0.0.1,DNS:localhost' -addext 'extendedKeyUsage=serverAuth' \
    -keyout "$dir/server.key" -out "$dir/ca.pem" 2>/dev/null
  openssl pkcs12 -export -in "$dir/ca.pem" -inkey "$dir/server.key" -name lowkey \
    -passout "pass:$password" -out "$dir/keystore.p12"
  rm -f "$dir/server.key"
  touch "$marker"
fi
echo "$dir"
