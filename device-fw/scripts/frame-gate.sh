#!/usr/bin/env bash
# The door's stack-frame gate: no function of a firmware ELF may reserve a stack frame larger
# than a budget in bytes (pushed registers + `sub sp, #N`, read from the disassembly).
#
#   device-fw/scripts/frame-gate.sh ELF BUDGET
#
# Why a gate of its own: the painted peak stack (size-report.sh) covers the paths the QEMU cost
# test drives (first boot, admissions, door state), not a reboot with a stored replay record,
# whose restore once reserved an 18 KB frame (static RAM + stack 36 KB against 32 KiB). A large
# frame is the one way a path the test misses blows the budget. Prints the five largest frames
# and `largest_stack_frame N (budget BUDGET: met|OVER BUDGET)`; exits 1 when over, 2 when the
# ELF cannot be disassembled. Needs llvm-objdump (device-fw/ci-install.sh).
set -euo pipefail

if [ $# -ne 2 ] || ! [[ "$2" =~ ^[0-9]+$ ]]; then
    echo "usage: $0 ELF BUDGET_BYTES" >&2
    exit 2
fi
if ! disassembly=$(llvm-objdump -d --no-show-raw-insn -C "$1" 2>&1); then
    echo "frame-gate: llvm-objdump cannot disassemble $1: ${disassembly:0:200}" >&2
    exit 2
fi
printf '%s\n' "$disassembly" | python3 -c '
import re, sys
budget = int(sys.argv[1])
frames, current = {}, None
for line in sys.stdin:
    m = re.match(r"^[0-9a-f]+ <(.*)>:", line)
    if m:
        current = m.group(1)
        frames.setdefault(current, 0)
        continue
    if current is None:
        continue
    m = re.search(r"\t(v?)push(?:\.w)?\s+\{([^}]*)\}", line)
    if m:
        frames[current] += (8 if m.group(1) else 4) * len(m.group(2).split(","))
        continue
    m = re.search(r"\tsub(?:\.w|w)?\s+sp,\s*(?:sp,\s*)?#(0x[0-9a-f]+|\d+)", line)
    if m:
        frames[current] += int(m.group(1), 0)
if not frames:
    sys.exit("frame-gate: no functions in the disassembly")
largest = sorted(frames.items(), key=lambda kv: -kv[1])
for name, size in largest[:5]:
    print(f"stack_frame {size:>6} {name[:100]}")
size, name = largest[0][1], largest[0][0]
verdict = "met" if size <= budget else "OVER BUDGET"
print(f"largest_stack_frame {size} (budget {budget}: {verdict})")
sys.exit(0 if size <= budget else 1)
' "$2"
