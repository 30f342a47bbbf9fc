#!/usr/bin/env bash
# porter-demo needs nothing beyond the pinned Rust toolchain: SQLite is compiled into the
# server (sqlx), the door is a simulator on loopback, and the phone is porter-ffi linked as a
# Rust library. The --stay test's browser check (demo/ci.sh runs it) uses Chromium and the
# pinned npm packages of server/tests/browser, which server/ci-install.sh installs (.ci/run runs
# every part's ci-install.sh before any test).
set -euo pipefail
command -v cargo >/dev/null || { echo "demo/ci-install.sh: install rustup first" >&2; exit 1; }
