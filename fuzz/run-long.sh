#!/usr/bin/env bash
# Runs every fuzz target for a given time and prints executions, executions per second and
# coverage per target, then the totals.
#
#   fuzz/run-long.sh [SECONDS_PER_TARGET] [TARGET...]     default 600 s, every target
#   fuzz/run-long.sh --cmin                                minimise fuzz/seeds/ in place
#
# Prefers nightly with AddressSanitizer (`cargo +nightly fuzz run -s address`); if nightly is
# missing (`rustup toolchain install nightly`), falls back to stable without a sanitizer
# (`-s none`) and says so. SANITIZER=none forces the stable build. Targets named `*_deep` are
# built with the stand-in signatures (`--features stand-in-crypto`). Each target starts from
# the committed seeds (fuzz/seeds/<target>, read-only) and grows fuzz/corpus/<target>
# (ignored by git). A crash stops the script: its input is under fuzz/artifacts/<target>;
# turn it into a regression test in core-protocol/tests/api/fuzz_regressions.rs.
set -euo pipefail
cd "$(dirname "$0")"
unset CARGO_TARGET_DIR # cargo-fuzz keeps its own target directories under fuzz/

if [[ "${SANITIZER:-address}" != none ]] && cargo +nightly --version >/dev/null 2>&1; then
    toolchain=(+nightly) sanitizer=address target_dir=target-asan
else
    [[ "${SANITIZER:-address}" != none ]] &&
        echo "nightly is not installed: falling back to stable without AddressSanitizer (-s none)"
    toolchain=() sanitizer=none target_dir=target
fi

features_of() { [[ "$1" == *_deep ]] && echo "--features=stand-in-crypto" || true; }

if [[ "${1:-}" == --cmin ]]; then
    for target in $(cargo fuzz list); do
        # shellcheck disable=SC2046
        cargo fuzz cmin -s none $(features_of "$target") "$target" "seeds/$target"
    done
    exit 0
fi

seconds=${1:-600}
shift || true
targets=("$@")
[[ ${#targets[@]} -eq 0 ]] && mapfile -t targets < <(cargo fuzz list)

printf 'toolchain %s, sanitizer %s, %s s per target, %s\n' \
    "$(cargo "${toolchain[@]}" --version)" "$sanitizer" "$seconds" "$(date -u +%FT%TZ)"
printf '%-24s %14s %10s %8s %8s\n' target executions exec/s cov ft
total=0
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target" "seeds/$target"
    log=$(mktemp)
    # shellcheck disable=SC2046
    if ! cargo "${toolchain[@]}" fuzz run -s "$sanitizer" --target-dir "$target_dir" \
        $(features_of "$target") "$target" "corpus/$target" "seeds/$target" -- \
        -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1; then
        tail -40 "$log"
        echo "fuzz target $target failed: input under fuzz/artifacts/$target"
        exit 1
    fi
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
    ft=$(grep -oE 'ft: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
    printf '%-24s %14s %10s %8s %8s\n' "$target" "$runs" "$rate" "$cov" "$ft"
    total=$((total + runs))
    rm -f "$log"
done
echo "total executions: $total"
