#!/usr/bin/env bash
# Instructions per operation on the host, counted by valgrind (repeatable, unlike times):
# each operation run over the 16 samples 0 and N rounds, the difference divided by 16 N. Prints ratios against one raw
# Ed25519 verify. The firmware's own count on Cortex-M4 is in device-fw's size report.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind is not installed: apt-get install -y valgrind"; exit 1; }
cargo build -q --release -p porter-benches --example count_instructions
bin="${CARGO_TARGET_DIR:-target}/release/examples/count_instructions"
N=2
SAMPLES=16
count() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$1" "$2" 2>&1 |
        sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
per_op() { echo $(( ($(count "$1" "$N") - $(count "$1" 0)) / (N * SAMPLES) )); }
raw=$(per_op raw_verify)
printf '%-18s %12s %10s\n' operation instructions "x verify"
for op in raw_verify steady_state cold_certificate readmission; do
    n=$([[ $op == raw_verify ]] && echo "$raw" || per_op "$op")
    awk -v op="$op" -v n="$n" -v raw="$raw" 'BEGIN { printf "%-18s %12d %9.3fx\n", op, n, n / raw }'
done
