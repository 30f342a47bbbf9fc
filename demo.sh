#!/usr/bin/env bash
# Porter's main job: one whole delivery, from the offline root to a door's receipt, played by
# the real components (porter-root, porter serve on SQLite, porter-door-sim, porter-ffi)
# on 127.0.0.1, in a temporary directory removed afterwards. Exits 0 only if every step
# behaved as expected. See demo/README.md.
#
#   ./demo.sh            release build (a few minutes the first time), then the story (seconds)
#   ./demo.sh --debug    the same story on a debug build (what CI runs: it reuses the test build)
#   ./demo.sh --stay     then keeps the server (the portal's invitation links) and the door
#                        running until Ctrl-C; combines with --debug
set -euo pipefail
cd "$(dirname "$0")"

profile=release
flags=(--release)
demo_flags=()
for arg in "$@"; do
    case "$arg" in
        --debug) profile=debug; flags=() ;;
        --stay) demo_flags=(--stay) ;;
        *) echo "usage: ./demo.sh [--debug] [--stay]" >&2; exit 2 ;;
    esac
done

target="$(cargo metadata --no-deps --format-version 1 | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
echo "Building porter, porter-root, porter-door-sim and porter-demo ($profile)..."
cargo build "${flags[@]}" --quiet -p porter-server --bin porter -p porter-root --bin porter-root \
    -p porter-demo --bin porter-demo
# On its own: cargo skips a required-features binary when the feature is named for another -p.
cargo build "${flags[@]}" --quiet -p porter-device --features std --bin porter-door-sim

work="$(mktemp -d "${TMPDIR:-/tmp}/porter-demo.XXXXXX")"
trap 'rm -rf "$work"' EXIT
"$target/$profile/porter-demo" --bin-dir "$target/$profile" --work-dir "$work" "${demo_flags[@]}"
