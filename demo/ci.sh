#!/usr/bin/env bash
# porter-demo's CI, run from the repository root: format, lints, then the whole story as a
# test (it builds `porter` and `porter-door-sim` first if this build lacks them), then
# ./demo.sh itself, the command the README promises (a release build).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt -p porter-demo -- --check
cargo clippy -p porter-demo --all-targets -- -D warnings
cargo test -p porter-demo
./demo.sh
