#!/usr/bin/env bash
# What a fresh Debian machine lacks for ffi/ci.sh. Idempotent, non-interactive.
set -euo pipefail

CBINDGEN_VERSION=0.29.4   # also named in ffi/cbindgen.toml's header comment

packages=(
    gcc g++ valgrind                              # the C tests (ASan, valgrind); the header as C++
    jq                                            # link.json flattened to lines for the C and Kotlin tests
    clang                                         # the Swift module map; the Cortex-M4 C build
    qemu-system-arm                               # the door path run on an emulated Cortex-M4
    openjdk-17-jdk-headless kotlin libjna-java    # the Kotlin binding on the JVM
)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
fi

# ast-grep (its tree-sitter Swift grammar): a syntax check of the Swift binding, since no Swift
# compiler can be installed here. From npm, pinned, into a directory of its own.
AST_GREP_VERSION=0.51.1
TOOLS="${PORTER_FFI_TOOLS:-/opt/porter-ffi-tools}"
if [[ "$("$TOOLS/node_modules/.bin/ast-grep" --version 2>/dev/null)" != "ast-grep $AST_GREP_VERSION" ]]; then
    if ! command -v npm >/dev/null; then
        apt-get update
        DEBIAN_FRONTEND=noninteractive apt-get install -y npm
    fi
    mkdir -p "$TOOLS"
    npm install --no-audit --no-fund --prefix "$TOOLS" "@ast-grep/cli@$AST_GREP_VERSION"
fi

if ! cbindgen --version 2>/dev/null | grep -qx "cbindgen $CBINDGEN_VERSION"; then
    cargo install --locked "cbindgen@$CBINDGEN_VERSION"
fi
