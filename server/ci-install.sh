#!/usr/bin/env bash
# What a fresh Debian machine lacks for porter-server's tests: a PostgreSQL server (ci.sh
# starts a private one on 127.0.0.1), openssl + curl for the HTTPS case, and Chromium with the
# pinned browser-test packages for the portal. Idempotent and
# non-interactive.
set -euo pipefail
# The OpenAPI document is validated in ci.sh (pinned validator, from PyPI).
OPENAPI_VALIDATOR=openapi-spec-validator==0.9.0
if ! python3 -c 'import openapi_spec_validator' 2>/dev/null; then
    python3 -m pip install --quiet "$OPENAPI_VALIDATOR"
fi
# The generated-client test (tests/client/run.sh): a pinned generator and what its code and the
# test script import, in their own venv.
CLIENT_VENV=${PORTER_CLIENT_VENV:-/opt/porter-client-venv}
if [ ! -x "$CLIENT_VENV/bin/openapi-python-client" ]; then
    python3 -m venv "$CLIENT_VENV"
    # click 8.2 breaks the typer this generator version uses: pinned below it.
    "$CLIENT_VENV/bin/pip" install --quiet openapi-python-client==0.21.6 click==8.1.8 cryptography==44.0.0
fi
# The API fuzzer (tests/schemathesis/run.sh): a pinned Schemathesis in its own venv.
SCHEMATHESIS_VENV=${PORTER_SCHEMATHESIS_VENV:-/opt/porter-schemathesis-venv}
if [ ! -x "$SCHEMATHESIS_VENV/bin/st" ]; then
    python3 -m venv "$SCHEMATHESIS_VENV"
    "$SCHEMATHESIS_VENV/bin/pip" install --quiet -r "$(dirname "$0")/tests/schemathesis/requirements.txt"
fi
# The portal's passkeys (webauthn-rs) link the system OpenSSL: its headers and pkg-config.
for pkg in libssl-dev pkg-config; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        SUDO_S=""
        if [ "$(id -u)" != 0 ]; then SUDO_S="sudo"; fi
        DEBIAN_FRONTEND=noninteractive $SUDO_S apt-get update
        DEBIAN_FRONTEND=noninteractive $SUDO_S apt-get install -y --no-install-recommends libssl-dev pkg-config
        break
    fi
done
# The portal's email test (tests/portal/mail.rs) receives through a real SMTP server process.
if ! python3 -c 'import aiosmtpd' 2>/dev/null; then
    python3 -m pip install --quiet aiosmtpd==1.4.6
fi
# The portal's browser test (tests/portal/browser.rs): Debian's Chromium (no browser download)
# and the pinned playwright-core and axe-core of tests/browser/package-lock.json, installed
# with the machine's Node.js (20).
if ! command -v chromium >/dev/null; then
    SUDO_C=""
    if [ "$(id -u)" != 0 ]; then SUDO_C="sudo"; fi
    DEBIAN_FRONTEND=noninteractive $SUDO_C apt-get update
    DEBIAN_FRONTEND=noninteractive $SUDO_C apt-get install -y --no-install-recommends \
        chromium chromium-driver fonts-dejavu-core
fi
if [ ! -d "$(dirname "$0")/tests/browser/node_modules/playwright-core" ]; then
    (cd "$(dirname "$0")/tests/browser" && npm ci --ignore-scripts --no-audit --no-fund)
fi
# The HA stack of deploy/ha (the failover test in ci.sh): Patroni (with python3-etcd, the
# client its etcd3 support imports, checked with the python Patroni runs on), a three-member
# etcd, HAProxy, and PostgreSQL itself.
if ! command -v patroni >/dev/null || ! command -v etcd >/dev/null \
    || ! command -v etcdctl >/dev/null || ! command -v haproxy >/dev/null \
    || ! /usr/bin/python3 -c 'import etcd' 2>/dev/null; then
    HA_SUDO=""
    if [ "$(id -u)" != 0 ]; then HA_SUDO="sudo"; fi
    $HA_SUDO apt-get update
    DEBIAN_FRONTEND=noninteractive $HA_SUDO apt-get install -y --no-install-recommends \
        postgresql patroni python3-etcd etcd-server etcd-client haproxy curl
fi
if ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 && command -v openssl >/dev/null \
    && command -v curl >/dev/null; then
    echo "server/ci-install.sh: PostgreSQL, openssl and curl already installed"
    exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends postgresql openssl curl ca-certificates
