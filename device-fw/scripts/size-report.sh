#!/usr/bin/env bash
# Size and cost report of the Cortex-M4 door controller (QEMU mps2-an386).
#
#   flash        .vector_table + .text + .rodata + .data of the production ELF (no test hooks)
#   static RAM   .data + .bss, as the board reports from its linker symbols
#   peak stack   the deepest stack use, found by painting the free stack at boot
#   admission    instructions from a presentation's last fragment to the relay (decision, spend
#                and audit record durable), under -icount shift=0 where one SysTick = 40
#                instructions, beside one raw Ed25519 verification measured the same way
#
# Budgets: flash <= 48 KiB (issue 8 asked 64 KiB; issue 14 asks 48 KiB; gated here:
# `flash-gate.sh`), static RAM + peak stack <= 32 KiB and admission <= 2.1x one raw verify
# (gated by the QEMU cost test); issue 14 also asks RAM + stack <= 16 KiB and re-admission of a
# multi-use grant (`readmission_over_verify`) <= 1.05x: reported, not gated (see
# device-fw/README.md). Also prints where the flash goes, by crate and the 25 largest symbols
# (nm --size-sort), with the bytes no symbol accounts for (`flash_unattributed`: literal pools,
# padding), and writes every symbol with its crate to report/flash-symbols.txt (the per-symbol
# map). Last, it builds and measures the `fast-verify` board (fiat's field arithmetic: faster
# signature checks, more flash; `fast_verify_*` lines, gated at 64 KiB). Exits non-zero if the
# cost test fails its guards, if the production ELF is over 48 KiB of flash (the fast-verify
# one over 64 KiB), if one of its functions reserves a stack frame over 8 KiB
# (`frame-gate.sh`: a path the painted stack misses, such as a reboot's restore, cannot hide a
# large frame), or if either gate does not trip on a budget one byte below the measured figure.
# Run from the repository root; needs qemu-system-arm, readelf and llvm-objdump
# (device-fw/ci-install.sh).
set -euo pipefail

root=$(pwd)
board="$root/device-fw/board"
target="${BOARD_TARGET_DIR:-$root/target/board}"
elf="$target/thumbv7em-none-eabihf/release/porter-door-board"
out="$target/report"
mkdir -p "$out"

echo "== building the production board ELF (release, opt-level z, LTO)"
(cd "$board" && CARGO_TARGET_DIR="$target" cargo build --release --quiet)
cp "$elf" "$out/porter-door-board.elf"
echo "== building the QEMU test ELF (test hooks)"
(cd "$board" && CARGO_TARGET_DIR="$target" cargo build --release --quiet --features test-hooks)
cp "$elf" "$out/porter-door-board-test-hooks.elf"

echo "== measuring under QEMU -icount shift=0"
PORTER_BOARD_ELF="$out/porter-door-board-test-hooks.elf" cargo test -p porter-device --test api --quiet \
    -- --ignored qemu_cost_report --nocapture --test-threads 1 2>&1 | tee "$out/cost.txt" | grep -E '^(raw_|admission|readmission|decision|attempt|static|peak|ram|budget)' || true
if ! grep -q "test result: ok" "$out/cost.txt"; then
    echo "the QEMU cost test failed:" >&2
    cat "$out/cost.txt" >&2
    exit 1
fi

echo "== where the flash goes (nm --size-sort on the production ELF, by crate)"
flash_total=$(bash "$root/device-fw/scripts/flash-gate.sh" "$out/porter-door-board.elf" 999999999 | awk '{print $2}')
nm --size-sort -S -C "$out/porter-door-board.elf" | FLASH_TOTAL="$flash_total" SYMBOLS_OUT="$out/flash-symbols.txt" python3 -c '
import os, re, sys
labels = {"porter_protocol": "porter-protocol (decision, codecs, caches)",
          "porter_device": "porter-device (controller, storage)",
          "porter_link": "porter-link (framing, link messages)",
          "porter_door_board": "board glue", "ed25519_compact": "ed25519-compact (sign, verify, sha512, x25519)",
          "serde_core": "serde + postcard", "serde": "serde + postcard", "postcard": "serde + postcard",
          "heapless": "heapless", "cortex_m": "cortex-m", "cortex_m_rt": "cortex-m-rt",
          "core": "core", "compiler_builtins": "compiler-builtins"}
groups, symbols = {}, []
for line in sys.stdin:
    parts = line.split(None, 3)
    if len(parts) < 4 or parts[2].lower() not in ("t", "r", "d"):
        continue
    name = parts[3].rstrip("\n")
    m = re.search(r"([a-z_][a-z0-9_]*)::", name)
    if name.startswith("__") and "INTERRUPTS" in name or "EXCEPTIONS" in name or "RESET_VECTOR" in name:
        label = "vector table"
    elif m and m.group(1) in labels:
        label = labels[m.group(1)]
    else:
        label = "other (outlined code, memcpy, literals)"
    groups[label] = groups.get(label, 0) + int(parts[1], 16)
    symbols.append((int(parts[1], 16), label, name))
for label, size in sorted(groups.items(), key=lambda kv: -kv[1]):
    print(f"flash_by_crate {size:>6} {label}")
unattributed = int(os.environ["FLASH_TOTAL"]) - sum(groups.values())
print(f"flash_unattributed {unattributed:>6} (literal pools, padding, alignment: no symbol)")
with open(os.environ["SYMBOLS_OUT"], "w") as f:
    for size, label, name in sorted(symbols, reverse=True):
        short = label.split(" (")[0]
        f.write(f"{size:>6}  {short:<20} {name}\n")
'
nm --size-sort -S -C "$out/porter-door-board.elf" | awk '$3 ~ /^[tTrR]$/' | tail -25 | while read -r _ size _ name; do
    echo "flash_largest_symbol $((16#$size)) ${name:0:100}"
done

echo "== the flash gate (48 KiB: issue 14's budget; issue 8 asked 64 KiB)"
gate="$root/device-fw/scripts/flash-gate.sh"
if ! line=$(bash "$gate" "$out/porter-door-board.elf" $((48 * 1024))); then
    echo "$line"
    echo "the production board ELF is over its 48 KiB flash budget (see flash_by_crate above and $out/flash-symbols.txt)" >&2
    exit 1
fi
echo "$line"
flash=$(echo "$line" | awk '{print $2}')
# The gate must be able to fail: one byte below the measured size it has to trip.
if bash "$gate" "$out/porter-door-board.elf" $((flash - 1)) > /dev/null; then
    echo "the flash gate passed $flash bytes against a budget of $((flash - 1)): it cannot fail" >&2
    exit 1
fi
echo "flash gate trips one byte below the measured size: ok"

echo "== the stack-frame gate (8 KiB a frame: the paths the painted stack does not drive)"
frames="$root/device-fw/scripts/frame-gate.sh"
if ! line=$(bash "$frames" "$out/porter-door-board.elf" 8192); then
    echo "$line"
    echo "a function of the production board ELF reserves a stack frame over 8 KiB" >&2
    exit 1
fi
echo "$line"
largest=$(echo "$line" | awk '/^largest_stack_frame/ {print $2}')
if bash "$frames" "$out/porter-door-board.elf" $((largest - 1)) > /dev/null; then
    echo "the frame gate passed a $largest-byte frame against a budget of $((largest - 1)): it cannot fail" >&2
    exit 1
fi
echo "frame gate trips one byte below the largest frame: ok"

echo "== the fast-verify board (fiat's field arithmetic; 64 KiB of flash)"
(cd "$board" && CARGO_TARGET_DIR="$target" cargo build --release --quiet --features fast-verify)
cp "$elf" "$out/porter-door-board-fast-verify.elf"
if ! line=$(bash "$gate" "$out/porter-door-board-fast-verify.elf" $((64 * 1024))); then
    echo "fast_verify_$line"
    echo "the fast-verify board ELF is over 64 KiB of flash" >&2
    exit 1
fi
echo "fast_verify_$line"
(cd "$board" && CARGO_TARGET_DIR="$target" cargo build --release --quiet --features fast-verify,test-hooks)
cp "$elf" "$out/porter-door-board-fast-verify-test-hooks.elf"
PORTER_BOARD_ELF="$out/porter-door-board-fast-verify-test-hooks.elf" cargo test -p porter-device --test api --quiet \
    -- --ignored qemu_cost_report --nocapture --test-threads 1 > "$out/cost-fast-verify.txt" 2>&1 || true
if ! grep -q "test result: ok" "$out/cost-fast-verify.txt"; then
    echo "the QEMU cost test failed on the fast-verify board:" >&2
    cat "$out/cost-fast-verify.txt" >&2
    exit 1
fi
grep -E '^(raw_verify_instructions|admission_instructions_cached_cert|admission_over_verify|readmission_over_verify|peak_stack_bytes|ram_plus_stack_bytes) ' \
    "$out/cost-fast-verify.txt" | sed 's/^/fast_verify_/'
