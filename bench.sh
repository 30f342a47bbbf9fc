#!/usr/bin/env bash
# Porter's one benchmark command. Runs, in order:
#   1. the criterion benchmarks (benches/: admission, decoders, door paths, phone and server
#      signing), each beside one raw Ed25519 verify measured in the same run;
#   2. host instruction counts (benches/instructions.sh, if valgrind is installed);
#   3. the door firmware's size and QEMU instruction report (device-fw/scripts/size-report.sh,
#      if qemu-system-arm and the thumbv7em target are installed);
#   4. the server's load test (`porter bench`), if this checkout has it;
# then writes docs/performance.md (benches/report.py): every figure, its ratio to its baseline,
# its budget, the machine and the date. Sections of that file outside the generated markers
# (the server's "Server throughput") are kept. Exits non-zero if steady-state admission is over
# its 2.1x budget. Extra arguments go to `cargo bench` (e.g. `./bench.sh -- admission`).
# About 5 minutes on a quiet 2-core machine, plus the first builds.
set -euo pipefail
cd "$(dirname "$0")"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
logs="$CARGO_TARGET_DIR/bench-report"
mkdir -p "$logs"
rm -f "$logs"/*.txt

step() { printf '\n== %s\n' "$*"; }

step "criterion benchmarks"
cargo bench -p porter-benches "$@"

step "host instruction counts"
if command -v valgrind >/dev/null; then
    benches/instructions.sh | tee "$logs/instructions.txt"
else
    echo "valgrind is not installed (apt-get install -y valgrind): skipped"
fi

step "door firmware: size and QEMU instruction report"
if command -v qemu-system-arm >/dev/null && rustup target list --installed 2>/dev/null | grep -q thumbv7em-none-eabihf; then
    BOARD_TARGET_DIR="$CARGO_TARGET_DIR/board" device-fw/scripts/size-report.sh | tee "$logs/sizes.txt"
else
    echo "qemu-system-arm or the thumbv7em-none-eabihf target is missing (device-fw/ci-install.sh): skipped" |
        tee "$logs/sizes.txt"
fi

step "server load test"
# Detect `porter bench` without a release build of the server when the checkout has no load
# test at all (its code lives in server/src/bench/).
if [[ -d server/src/bench ]] && cargo run -q --release -p porter-server --bin porter -- bench --help >/dev/null 2>&1; then
    cargo run -q --release -p porter-server --bin porter -- bench 2>&1 | tee "$logs/server.txt" ||
        echo "porter bench failed (its output is above)" | tee -a "$logs/server.txt"
else
    echo "this checkout has no \`porter bench\` (the server's load test, issue 11): skipped" |
        tee "$logs/server.txt"
fi

step "docs/performance.md"
python3 benches/report.py --sizes "$logs/sizes.txt" --instructions "$logs/instructions.txt" \
    --server "$logs/server.txt"
