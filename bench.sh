#!/usr/bin/env bash
# Runs the criterion benchmarks and prints each as a ratio of the baseline measured in the same
# run (one raw Ed25519 verify). Exits non-zero if steady-state admission exceeds 2.1 verifies.
set -euo pipefail
cd "$(dirname "$0")"
cargo bench -p porter-benches "$@"
python3 benches/ratio.py
if command -v valgrind >/dev/null; then
    benches/instructions.sh
fi
if [[ -x device-fw/size-report.sh ]]; then
    device-fw/size-report.sh
fi
