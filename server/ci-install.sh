#!/usr/bin/env bash
# What a fresh Debian machine lacks for porter-server's tests: a PostgreSQL server (ci.sh
# starts a private one on 127.0.0.1). Idempotent and non-interactive.
set -euo pipefail
if ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    echo "server/ci-install.sh: PostgreSQL already installed"
    exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends postgresql
