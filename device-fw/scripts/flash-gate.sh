#!/usr/bin/env bash
# The door's flash gate: the flash an ELF occupies (.vector_table + .text + .rodata + .data,
# what a programmer writes to the MCU's flash) against a budget in bytes.
#
#   device-fw/scripts/flash-gate.sh ELF BUDGET
#
# Prints `flash_bytes N (budget BUDGET: met)` and exits 0, or `... OVER BUDGET by M` and exits 1.
# Exits 2 when the ELF cannot be read or has no .text. Needs readelf (binutils).
set -euo pipefail

if [ $# -ne 2 ] || ! [[ "$2" =~ ^[0-9]+$ ]]; then
    echo "usage: $0 ELF BUDGET_BYTES" >&2
    exit 2
fi
elf=$1
budget=$2

if ! sections=$(readelf -SW "$elf" 2>&1); then
    echo "flash-gate: readelf cannot read $elf: $sections" >&2
    exit 2
fi
flash=$(printf '%s\n' "$sections" | python3 -c '
import re, sys
total, text = 0, False
for line in sys.stdin:
    m = re.search(r"\]\s+(\.\S+)\s+\S+\s+[0-9a-f]+\s+[0-9a-f]+\s+([0-9a-f]+)", line)
    if m and m.group(1) in (".vector_table", ".text", ".rodata", ".data"):
        total += int(m.group(2), 16)
        text = text or m.group(1) == ".text"
print(total if text else "")')
if [ -z "$flash" ]; then
    echo "flash-gate: $elf has no .text section (not a firmware ELF?)" >&2
    exit 2
fi

if [ "$flash" -le "$budget" ]; then
    echo "flash_bytes $flash (budget $budget: met, $((budget - flash)) to spare)"
else
    echo "flash_bytes $flash (budget $budget: OVER BUDGET by $((flash - budget)))"
    exit 1
fi
