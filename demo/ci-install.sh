#!/usr/bin/env bash
# porter-demo needs nothing beyond the pinned Rust toolchain: SQLite is compiled into the
# server (sqlx), the door is a simulator on loopback, and the phone is porter-ffi linked as a
# Rust library. Kept so that .ci/run can call every part the same way.
set -euo pipefail
command -v cargo >/dev/null || { echo "demo/ci-install.sh: install rustup first" >&2; exit 1; }
