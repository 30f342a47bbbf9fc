#!/usr/bin/env bash
# porter-demo's CI, run from the repository root: format, lints, the whole story as a test (it
# builds `porter` and `porter-door-sim` first if this build lacks them), then ./demo.sh itself
# on the debug build the tests made (the release build of ./demo.sh alone would take most of
# CI's time budget on two cores; it runs the very same binary code path).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt -p porter-demo -- --check
cargo clippy -p porter-demo --all-targets -- -D warnings
# The --stay test opens the printed links in headless Chromium (server/tests/browser/demo.mjs,
# with what server/ci-install.sh installs): here it must run, not skip.
export PORTER_PORTAL_TOOLS=1
cargo test -p porter-demo
./demo.sh --debug
