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
# built with the stand-in signatures (`--features stand-in-crypto`), `server_*` with the server
# (`--features server`). Each target starts from
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

features_of() {
    case "$1" in
        *_deep) echo "--features=stand-in-crypto" ;;
        server_*) echo "--features=server" ;;
    esac
}

# Scripted targets read at most so many bytes (24 steps of 5; 32 steps of 4 plus fragments):
# longer inputs only waste mutations, and without length control the fuzzer reaches deep
# scripts at once instead of growing them a few bytes at a time.
options_of() {
    case "$1" in
        admit_sequence*) echo "-max_len=121 -len_control=0" ;;
        door_sim*) echo "-max_len=640 -len_control=0" ;;
    esac
}

# door_sim*: built without comparison tracing, in a target directory of their own (cargo would
# otherwise rebuild everything on each switch of flags). Tracing the door's every comparison
# was 46 % of door_sim_deep's time and it guides the fuzzer only towards compared values
# (through the `*_cmp*` callbacks' table), which a script of `% 8` steps and XOR patches
# rarely uses; coverage, and every check, are the same (README "Speed": 2.2x executions).
# TRACE_COMPARES=1 builds them like the others.
build_of() {
    case "$1" in
        door_sim*) [[ -z "${TRACE_COMPARES:-}" ]] &&
            echo "--target-dir=$target_dir-notc --no-trace-compares" && return ;;
    esac
    echo "--target-dir=$target_dir"
}

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
# Build first, so that a target's CPU time below is its fuzzing alone.
for target in "${targets[@]}"; do
    # shellcheck disable=SC2046
    cargo "${toolchain[@]}" fuzz build -s "$sanitizer" $(build_of "$target") \
        $(features_of "$target") "$target" >/dev/null
done

# exec/s is libFuzzer's, per second of wall time: on a shared machine under `nice` it measures
# the machine. exec/cpu-s is per second of CPU the fuzzer actually got (user + system).
printf '%-24s %14s %10s %12s %8s %8s\n' target executions exec/s exec/cpu-s cov ft
total=0
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target" "seeds/$target"
    log=$(mktemp) cpu=$(mktemp)
    # shellcheck disable=SC2046
    if ! /usr/bin/time -o "$cpu" -f '%U %S' \
        cargo "${toolchain[@]}" fuzz run -s "$sanitizer" $(build_of "$target") \
        $(features_of "$target") "$target" "corpus/$target" "seeds/$target" -- \
        $(options_of "$target") -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1; then
        tail -40 "$log"
        echo "fuzz target $target failed: input under fuzz/artifacts/$target"
        exit 1
    fi
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
    ft=$(grep -oE 'ft: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
    per_cpu=$(awk -v runs="$runs" '{ t = $1 + $2; printf "%d", (t > 0 ? runs / t : 0) }' "$cpu")
    printf '%-24s %14s %10s %12s %8s %8s\n' "$target" "$runs" "$rate" "$per_cpu" "$cov" "$ft"
    total=$((total + runs))
    rm -f "$log" "$cpu"
done
echo "total executions: $total"
