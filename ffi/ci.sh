#!/usr/bin/env bash
# porter-ffi's CI, run from the repository root (after ffi/ci-install.sh). Fails on the first
# failing step. Runs: rustfmt, clippy, the unsafe-confinement rule, the Rust tests, the header
# diff against pinned cbindgen, the C tests (plain, ASan+UBSan, valgrind) against the shared
# vectors, the Kotlin binding on the JVM, and the Swift module map compiled as a Clang module.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
RELEASE="$CARGO_TARGET_DIR/release"
BUILD="$CARGO_TARGET_DIR/porter-ffi-ci"
VECTORS=spec/vectors/admission.txt
DRIVER=ffi/tests/data/driver.txt
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

step "C tests: gcc -Wall -Wextra -Werror, plain"
gcc "${CFLAGS[@]}" ffi/tests/c/porter_test.c "$RELEASE/libporter_ffi.a" "${LIBS[@]}" -o "$BUILD/porter_test"
"$BUILD/porter_test" "$VECTORS" "$DRIVER"

step "C tests under AddressSanitizer and UndefinedBehaviorSanitizer"
gcc "${CFLAGS[@]}" -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all \
    ffi/tests/c/porter_test.c "$RELEASE/libporter_ffi.a" "${LIBS[@]}" -o "$BUILD/porter_test_asan"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 "$BUILD/porter_test_asan" "$VECTORS" "$DRIVER"

step "C tests under valgrind"
valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
    "$BUILD/porter_test" "$VECTORS" "$DRIVER"

step "peak stack of the door path, by painting"
gcc "${CFLAGS[@]}" -O1 ffi/tests/c/stack_usage.c "$RELEASE/libporter_ffi.a" "${LIBS[@]}" -o "$BUILD/stack_usage"
"$BUILD/stack_usage" "$DRIVER"

step "the README's driver-flow example, compiled and run as written"
sed -n '/^```c driver_flow.c$/,/^```$/p' ffi/README.md | sed '1d;$d' > "$BUILD/driver_flow.c"
test -s "$BUILD/driver_flow.c"
gcc "${CFLAGS[@]}" "$BUILD/driver_flow.c" "$RELEASE/libporter_ffi.a" "${LIBS[@]}" -o "$BUILD/driver_flow"
"$BUILD/driver_flow" "$DRIVER"

step "Kotlin binding: kotlinc (once), then the JVM against the shared vectors"
JNA=/usr/share/java/jna.jar
KOTLIN_STDLIB=/usr/share/java/kotlin-stdlib.jar
kotlinc -nowarn -cp "$JNA" ffi/bindings/kotlin/src/main/kotlin ffi/bindings/kotlin/src/test/kotlin \
    -d "$BUILD/porter-kotlin-test.jar" 2> >(grep -v 'deprecated in JDK' >&2)
java -Djna.library.path="$RELEASE" -cp "$BUILD/porter-kotlin-test.jar:$JNA:$KOTLIN_STDLIB" \
    porter.PorterTestKt "$VECTORS" "$DRIVER"

step "Swift package: the module map compiled as a Clang module, and a C file that imports it"
SWIFT=ffi/bindings/swift
rm -rf "$BUILD/clang-modules"
clang -std=c11 -Wall -Wextra -Werror -fmodules -fmodules-cache-path="$BUILD/clang-modules" \
    -fmodule-map-file="$SWIFT/Sources/CPorter/module.modulemap" "$SWIFT/ci/import_test.c" "$RELEASE/libporter_ffi.a" "${LIBS[@]}" -o "$BUILD/swift_import_test"
ls "$BUILD"/clang-modules/*/CPorter-*.pcm >/dev/null   # the module itself was built
"$BUILD/swift_import_test" "$DRIVER"

echo "porter-ffi: all checks passed"
