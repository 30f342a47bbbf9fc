#!/usr/bin/env bash
# Porter's one test command, the same locally and in CI (.ci/run calls it after installing
# what a fresh machine lacks). Each part's own checks live in <part>/ci.sh and run at the end.
set -euo pipefail
cd "$(dirname "$0")"

step() { printf '\n== %s\n' "$*"; }

step "format"
cargo fmt --all --check

step "lints (clippy, warnings are errors)"
cargo clippy --workspace --all-targets -- -D warnings

step "the protocol core builds for the door's Cortex-M4 (no_std, no default features)"
cargo build -p porter-protocol --target thumbv7em-none-eabihf --no-default-features
cargo build -p porter-protocol --target thumbv7em-none-eabihf --no-default-features --features opt_size
cargo build -p porter-link --target thumbv7em-none-eabihf --no-default-features

step "API docs build without broken links"
RUSTDOCFLAGS="-D warnings" cargo doc -q -p porter-protocol -p porter-link --no-deps

step "tests of the protocol core (each part's own tests run in its ci.sh, below, once)"
cargo test -p porter-protocol -p porter-link -p porter-root -p porter-benches

step "test vectors are reproducible: regenerate and diff"
cargo run -q -p porter-protocol --example gen_vectors
cargo run -q -p porter-link --example gen_link_vectors
git diff --exit-code -- spec/vectors

step "benchmarks compile (run them with ./bench.sh; budgets are checked there, not here)"
cargo bench -p porter-benches --no-run

if command -v cargo-fuzz >/dev/null; then
    # 28 targets at 8 s each: about 4 minutes of fuzzing (plus three builds: the server's,
    # for `server_request` and `server_portal` alone, is the long one). Long runs with AddressSanitizer:
    # fuzz/run-long.sh. `*_deep` targets use stand-in signatures; `server_*` need the server.
    step "fuzz smoke run: ${FUZZ_SECONDS:=8} s per target (stable toolchain, no sanitizer)"
    (
        cd fuzz
        unset CARGO_TARGET_DIR
        scratch=$(mktemp -d)
        for target in $(cargo fuzz list); do
            features=()
            [[ "$target" == *_deep ]] && features=(--features stand-in-crypto)
            [[ "$target" == server_* ]] && features=(--features server)
            log="$scratch/$target.log"
            mkdir -p "$scratch/$target" "seeds/$target"
            if ! cargo fuzz run -s none "${features[@]}" "$target" "$scratch/$target" "seeds/$target" \
                -- -max_total_time="$FUZZ_SECONDS" >"$log" 2>&1; then
                tail -40 "$log"
                echo "fuzz target $target found a failure (input saved under fuzz/artifacts/$target)"
                exit 1
            fi
            echo "$target: $(grep -E '^Done' "$log")"
        done
        rm -rf "$scratch"
    )
else
    echo "cargo-fuzz is not installed (cargo install --locked cargo-fuzz@0.13.2): fuzz smoke run skipped"
fi

for part in device-fw server ffi demo; do
    if [[ -f $part/ci.sh ]]; then
        step "$part"
        bash "$part/ci.sh"
    fi
done

step "all checks passed"
