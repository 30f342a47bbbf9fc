#!/usr/bin/env bash
# porter-device's CI: run from the repository root (after device-fw/ci-install.sh).
#  1. rustfmt and clippy clean; the controller builds no_std for thumbv7em-none-eabihf;
#  2. the host tests: scenarios, every shared vector through the controller, reassembly abuse,
#     the property test, the power-cut sweep, the simulator binary over TCP;
#  3. the Cortex-M4 board under QEMU: the size and cost report (flash, RAM, painted stack,
#     instructions), then every shared admission vector over the UART with the audit log read
#     back, and (one more boot) link.json's framing at every MTU and its transcripts.
set -euo pipefail

echo "== porter-device: format and lints"
cargo fmt -p porter-device -- --check
cargo clippy -p porter-device --all-targets --quiet -- -D warnings

echo "== porter-device: API docs without broken links"
RUSTDOCFLAGS="-D warnings" cargo doc -q -p porter-device --no-deps --features std

echo "== porter-device: no_std build for the Cortex-M4"
cargo build -p porter-device --target thumbv7em-none-eabihf --quiet
(cd device-fw/board && cargo fmt -- --check && CARGO_TARGET_DIR="${BOARD_TARGET_DIR:-$OLDPWD/target/board}" cargo clippy --release --quiet --features test-hooks -- -D warnings)

echo "== the board's ed25519-compact copy: its compact scalar and field code equal the originals (PORTER-PATCH.md)"
(cd device-fw/vendor/ed25519-compact && CARGO_TARGET_DIR="${BOARD_TARGET_DIR:-$OLDPWD/target/board}" \
    cargo test --release --quiet --no-default-features --features opt_size,x25519 --lib)
echo "== ... and with fiat's field arithmetic kept (the fast-verify board)"
(cd device-fw/vendor/ed25519-compact && CARGO_TARGET_DIR="${BOARD_TARGET_DIR:-$OLDPWD/target/board}" \
    cargo test --release --quiet --no-default-features --features opt_size,x25519,fast_field --lib)

echo "== porter-device: host tests"
cargo test -p porter-device --quiet

echo "== porter-door-board: QEMU mps2-an386"
bash device-fw/scripts/size-report.sh
board_elf="${BOARD_TARGET_DIR:-$(pwd)/target/board}/report/porter-door-board-test-hooks.elf"
PORTER_BOARD_ELF="$board_elf" cargo test -p porter-device --test api --quiet \
    -- --ignored qemu_board_gets_every_vector_verdict qemu_board_replays_link_framing_and_transcripts \
    --test-threads 1
