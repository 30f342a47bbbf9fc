#!/usr/bin/env bash
# porter-ffi's CI, run from the repository root (after ffi/ci-install.sh). Fails on the first
# failing step. Runs: rustfmt, clippy, the unsafe-confinement rule, the Rust tests, the header
# diff against pinned cbindgen, the C tests (plain, ASan+UBSan, valgrind) against the shared
# vectors, the no_std door path linked into C firmware and run on an emulated Cortex-M4, the
# Kotlin binding on the JVM (the shared vectors, and a live simulated door over TCP), and the
# Swift module map compiled as a Clang module.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
RELEASE="$CARGO_TARGET_DIR/release"
BUILD="$CARGO_TARGET_DIR/porter-ffi-ci"
VECTORS=spec/vectors/admission.txt
AUDIT_VECTORS=spec/vectors/audit.txt
DRIVER=ffi/tests/data/driver.txt
LINK_VECTORS="$CARGO_TARGET_DIR/porter-ffi-ci/link_vectors.txt"   # spec/vectors/link.json, as lines
CBINDGEN_VERSION=0.29.4
mkdir -p "$BUILD"
step() { printf '\n== porter-ffi: %s\n' "$*"; }

step "rustfmt and clippy"
cargo fmt -p porter-ffi -- --check
cargo clippy -p porter-ffi --all-targets -- -D warnings

step "unsafe blocks only in ffi/src/ffi.rs, each with a SAFETY comment"
if grep -rn --include='*.rs' -E '\bunsafe\b' ffi/src | grep -v '^ffi/src/ffi.rs:' | grep -vE '^\S+:\s*//'; then
    echo "unsafe code outside ffi/src/ffi.rs (see above): move it into a helper there" >&2
    exit 1
fi

step "Rust tests (unit, shared vectors through the C ABI, driver flow, boundaries)"
cargo test -p porter-ffi

step "porter.h is what cbindgen $CBINDGEN_VERSION generates"
cbindgen --version | grep -qx "cbindgen $CBINDGEN_VERSION" || {
    echo "cbindgen $CBINDGEN_VERSION required (ffi/ci-install.sh installs it)" >&2
    exit 1
}
(cd ffi && cbindgen --quiet --config cbindgen.toml --crate porter-ffi --output "$BUILD/porter.h")
diff -u ffi/include/porter.h "$BUILD/porter.h" || {
    echo "ffi/include/porter.h is stale: run (cd ffi && cbindgen --config cbindgen.toml --crate porter-ffi --output include/porter.h)" >&2
    exit 1
}

step "release libraries"
cargo build -p porter-ffi --release
LIBS=(-lgcc_s -lutil -lrt -lpthread -lm -ldl -lc)   # `--print native-static-libs`
CFLAGS=(-std=c11 -Wall -Wextra -Werror -g -Iffi/include)

step "porter.h compiles as C11 and as C++17 (cpp_compat), warnings as errors"
printf '#include "porter.h"\nint main(void) { return porter_version() == 0; }\n' > "$BUILD/header_only.c"
gcc "${CFLAGS[@]}" -pedantic -fsyntax-only "$BUILD/header_only.c"
g++ -std=c++17 -Wall -Wextra -Werror -pedantic -Iffi/include -fsyntax-only -x c++ "$BUILD/header_only.c"
# With PORTER_DOOR_ONLY (firmware linking the no_std library) the app API is hidden.
printf '#define PORTER_DOOR_ONLY\n#include "porter.h"\n' > "$BUILD/door_only.c"
gcc -E -Iffi/include "$BUILD/door_only.c" > "$BUILD/door_only.i"
grep -q porter_door_admit "$BUILD/door_only.i"
if grep -q porter_holder_key_new "$BUILD/door_only.i"; then
    echo "PORTER_DOOR_ONLY does not hide the app API" >&2
    exit 1
fi

step "C tests: gcc -Wall -Wextra -Werror, plain"
gcc "${CFLAGS[@]}" ffi/tests/c/porter_test.c "$RELEASE/libporter_ffi.a" "${LIBS[@]}" -o "$BUILD/porter_test"
"$BUILD/porter_test" "$VECTORS" "$AUDIT_VECTORS" "$DRIVER"

step "C tests under AddressSanitizer and UndefinedBehaviorSanitizer"
gcc "${CFLAGS[@]}" -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all \
    ffi/tests/c/porter_test.c "$RELEASE/libporter_ffi.a" "${LIBS[@]}" -o "$BUILD/porter_test_asan"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 "$BUILD/porter_test_asan" "$VECTORS" "$AUDIT_VECTORS" "$DRIVER"

step "C tests under valgrind"
valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
    "$BUILD/porter_test" "$VECTORS" "$AUDIT_VECTORS" "$DRIVER"

step "C: the link vectors (framing, messages, transcripts) through porter_session and porter_link_*"
jq -r -f ffi/tests/c/link_vectors.jq spec/vectors/link.json > "$LINK_VECTORS"
gcc "${CFLAGS[@]}" ffi/tests/c/session_test.c "$RELEASE/libporter_ffi.a" "${LIBS[@]}" -o "$BUILD/session_test"
"$BUILD/session_test" "$LINK_VECTORS"
gcc "${CFLAGS[@]}" -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all \
    ffi/tests/c/session_test.c "$RELEASE/libporter_ffi.a" "${LIBS[@]}" -o "$BUILD/session_test_asan"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 "$BUILD/session_test_asan" "$LINK_VECTORS"
valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
    "$BUILD/session_test" "$LINK_VECTORS"

step "coverage-guided fuzzing through the C ABI: ${FFI_FUZZ_SECONDS:=15} s (libFuzzer + ASan, SanitizerCoverage in Rust)"
# porter-ffi and the core instrumented with SanitizerCoverage on stable (as cargo-fuzz -s none),
# in a target directory of their own; the harness is clang's libFuzzer with AddressSanitizer.
FUZZ_TARGET_DIR="$CARGO_TARGET_DIR/porter-ffi-fuzz"
HOST="$(rustc -vV | sed -n 's/^host: //p')"
CARGO_TARGET_DIR="$FUZZ_TARGET_DIR" RUSTFLAGS="-C passes=sancov-module \
    -C llvm-args=-sanitizer-coverage-level=4 -C llvm-args=-sanitizer-coverage-inline-8bit-counters \
    -C llvm-args=-sanitizer-coverage-pc-table -C llvm-args=-sanitizer-coverage-trace-compares" \
    cargo build -p porter-ffi --release --target "$HOST"
clang -std=c11 -Wall -Wextra -Werror -g -fsanitize=fuzzer,address -Iffi/include ffi/tests/c/fuzz_c_abi.c \
    "$FUZZ_TARGET_DIR/$HOST/release/libporter_ffi.a" -lpthread -ldl -lm -o "$BUILD/fuzz_c_abi"
rm -rf "$BUILD/fuzz-corpus" && mkdir -p "$BUILD/fuzz-corpus" "$BUILD/fuzz-artifacts"
PORTER_DRIVER_DATA="$DRIVER" PORTER_SEED_CORPUS="$BUILD/fuzz-corpus" "$BUILD/fuzz_c_abi"
if PORTER_DRIVER_DATA="$DRIVER" "$BUILD/fuzz_c_abi" -max_total_time="$FFI_FUZZ_SECONDS" \
    -artifact_prefix="$BUILD/fuzz-artifacts/" -print_final_stats=1 "$BUILD/fuzz-corpus" \
    > "$BUILD/fuzz.log" 2>&1; then
    grep -E '^stat::(number_of_executed_units|new_units_added)' "$BUILD/fuzz.log"
else
    tail -40 "$BUILD/fuzz.log"
    echo "the C ABI fuzzer found a failure (input saved in $BUILD/fuzz-artifacts)" >&2
    exit 1
fi

step "peak stack of the door path, by painting"
gcc "${CFLAGS[@]}" -O1 ffi/tests/c/stack_usage.c "$RELEASE/libporter_ffi.a" "${LIBS[@]}" -o "$BUILD/stack_usage"
"$BUILD/stack_usage" "$DRIVER"
# The gate fails when the door path needs more than its budget: here a budget of 8 KiB.
if "$BUILD/stack_usage" "$DRIVER" 8192 > "$BUILD/stack_gate.log"; then
    cat "$BUILD/stack_gate.log"
    echo "the stack gate passed a door path over an 8 KiB budget: it cannot fail" >&2
    exit 1
fi

step "the README's driver-flow example, compiled and run as written"
sed -n '/^```c driver_flow.c$/,/^```$/p' ffi/README.md | sed '1d;$d' > "$BUILD/driver_flow.c"
test -s "$BUILD/driver_flow.c"
gcc "${CFLAGS[@]}" "$BUILD/driver_flow.c" "$RELEASE/libporter_ffi.a" "${LIBS[@]}" -o "$BUILD/driver_flow"
"$BUILD/driver_flow" "$DRIVER"

step "door path without std for bare-metal C firmware (thumbv7em-none-eabihf): clippy, build, link, size"
# A target directory of its own: the firmware profile (opt-level z, LTO) differs from the host's.
FW_TARGET_DIR="$CARGO_TARGET_DIR/porter-ffi-firmware"
FW_PROFILE=(--config 'profile.release.opt-level="z"' --config 'profile.release.lto=true'
            --config 'profile.release.codegen-units=1')
CARGO_TARGET_DIR="$FW_TARGET_DIR" cargo clippy -p porter-ffi --no-default-features \
    --target thumbv7em-none-eabihf -- -D warnings
CARGO_TARGET_DIR="$FW_TARGET_DIR" cargo build -p porter-ffi --release --no-default-features \
    --features opt_size --target thumbv7em-none-eabihf "${FW_PROFILE[@]}"
RUST_LLD="$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin/rust-lld"
clang --target=thumbv7em-none-eabihf -mcpu=cortex-m4 -mfloat-abi=hard -ffreestanding -nostdlib -Os \
    -ffunction-sections -fdata-sections -std=c11 -Wall -Wextra -Werror -Iffi/include \
    -c ffi/tests/firmware/firmware.c -o "$BUILD/firmware.o"
"$RUST_LLD" -flavor gnu -T ffi/tests/firmware/link.ld --gc-sections "$BUILD/firmware.o" \
    "$FW_TARGET_DIR/thumbv7em-none-eabihf/release/libporter_ffi.a" -o "$BUILD/firmware.elf"
for symbol in porter_door_admit porter_door_apply_state porter_door_memory_init porter_door_now \
    porter_challenge_encode porter_result_coarse porter_audit_record_admitted porter_receipt_seal \
    porter_audit_record_hash; do
    llvm-nm "$BUILD/firmware.elf" | grep -q " T $symbol\$" || { echo "firmware lacks $symbol" >&2; exit 1; }
done
if llvm-nm "$BUILD/firmware.elf" | grep -qE ' (T|U) (malloc|__rust_alloc|__rust_start_panic)$'; then
    echo "the firmware build of the door path allocates or unwinds" >&2
    exit 1
fi
echo "Cortex-M4 C firmware linking the door path (text = flash, bss = the C side's buffers):"
llvm-size "$BUILD/firmware.elf"

step "the shared admission vectors on a Cortex-M4 (qemu mps2-an386), through porter.h"
clang --target=thumbv7em-none-eabihf -mcpu=cortex-m4 -mfloat-abi=hard -ffreestanding -nostdlib -O2 \
    -ffunction-sections -fdata-sections -std=c11 -Wall -Wextra -Werror -Iffi/include \
    "-DVECTORS_PATH=\"$PWD/$VECTORS\"" -c ffi/tests/firmware/vectors_on_m4.c -o "$BUILD/vectors_on_m4.o"
"$RUST_LLD" -flavor gnu -T ffi/tests/firmware/qemu.ld --gc-sections "$BUILD/vectors_on_m4.o" \
    "$FW_TARGET_DIR/thumbv7em-none-eabihf/release/libporter_ffi.a" -o "$BUILD/vectors_on_m4.elf"
timeout 300 qemu-system-arm -machine mps2-an386 -cpu cortex-m4 -nographic -monitor none -serial none \
    -semihosting-config enable=on,target=native -kernel "$BUILD/vectors_on_m4.elf"

step "Kotlin binding: kotlinc (once), then the JVM against the shared vectors"
JNA=/usr/share/java/jna.jar
KOTLIN_STDLIB=/usr/share/java/kotlin-stdlib.jar
kotlinc -nowarn -cp "$JNA" ffi/bindings/kotlin/src/main/kotlin ffi/bindings/kotlin/src/test/kotlin \
    -d "$BUILD/porter-kotlin-test.jar" 2> >(grep -v 'deprecated in JDK' >&2)
java -Djna.library.path="$RELEASE" -cp "$BUILD/porter-kotlin-test.jar:$JNA:$KOTLIN_STDLIB" \
    porter.PorterTestKt "$VECTORS" "$AUDIT_VECTORS" "$DRIVER" "$LINK_VECTORS"

step "Kotlin against a live door: porter-door-sim over TCP through Session (no framing in the test)"
# device-fw's sim_fixture starts the simulator, enrols it with the test site and prints the port,
# device key, grant, certificate, holder seed and clock; the Kotlin test starts the fixture, so
# the door's events reach it in order. The simulator is killed on exit whatever happens.
cargo build -p porter-device --features std --bin porter-door-sim --example sim_fixture
SIM_WORK="$BUILD/door-sim"
stop_simulator() {
    if [[ -f $SIM_WORK/simulator.pid ]]; then
        kill "$(cat "$SIM_WORK/simulator.pid")" 2>/dev/null || true
    fi
}
trap stop_simulator EXIT
timeout 300 java -Djna.library.path="$RELEASE" -cp "$BUILD/porter-kotlin-test.jar:$JNA:$KOTLIN_STDLIB" \
    porter.simtest.SimulatorTestKt "$CARGO_TARGET_DIR/debug/examples/sim_fixture" \
    "$CARGO_TARGET_DIR/debug/porter-door-sim" "$SIM_WORK"

step "Swift sources: syntax check with tree-sitter-swift (ast-grep); NOT a compile"
AST_GREP="${PORTER_FFI_TOOLS:-/opt/porter-ffi-tools}/node_modules/.bin/ast-grep"
[[ -x $AST_GREP ]] || { echo "$AST_GREP is missing: run ffi/ci-install.sh" >&2; exit 1; }
"$AST_GREP" scan \
    -r ffi/bindings/swift/ci/swift-syntax.yml ffi/bindings/swift

step "Swift package: the module map compiled as a Clang module, and a C file that imports it"
SWIFT=ffi/bindings/swift
rm -rf "$BUILD/clang-modules"
clang -std=c11 -Wall -Wextra -Werror -fmodules -fmodules-cache-path="$BUILD/clang-modules" \
    -fmodule-map-file="$SWIFT/Sources/CPorter/module.modulemap" "$SWIFT/ci/import_test.c" "$RELEASE/libporter_ffi.a" "${LIBS[@]}" -o "$BUILD/swift_import_test"
ls "$BUILD"/clang-modules/*/CPorter-*.pcm >/dev/null   # the module itself was built
"$BUILD/swift_import_test" "$DRIVER"

echo "porter-ffi: all checks passed"
