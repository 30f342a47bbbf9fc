#!/usr/bin/env bash
# What a fresh Debian machine lacks for porter-device's CI (device-fw/ci.sh): QEMU to boot the
# Cortex-M4 board, and binutils' readelf for the size report. The thumbv7em-none-eabihf target
# is installed by rust-toolchain.toml. Idempotent and non-interactive.
set -euo pipefail

need=()
command -v qemu-system-arm >/dev/null 2>&1 || need+=(qemu-system-arm)
command -v readelf >/dev/null 2>&1 || need+=(binutils)
# llvm-objdump: size-report.sh's stack-frame gate disassembles the Thumb-2 ELF.
command -v llvm-objdump >/dev/null 2>&1 || need+=(llvm)
if ((${#need[@]})); then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need[@]}"
fi
rustup target add thumbv7em-none-eabihf >/dev/null 2>&1 || true
qemu-system-arm --version | head -1
