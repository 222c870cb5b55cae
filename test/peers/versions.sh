# Pinned versions of the KMS test servers. The one place to change them.
# shellcheck shell=bash
MOTO_VERSION=5.2.5          # PyPI moto (AWS KMS server)
FLASK_VERSION=3.1.3         # PyPI flask, moto_server's web framework
FLASK_CORS_VERSION=6.0.5    # PyPI flask-cors
LOWKEY_VERSION=3.4.33       # Maven Central lowkey-vault-app, newest 3.4.x (last line on Java 17)
SEALBOX_CACHE="${SEALBOX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sealbox}"
