#!/usr/bin/env bash
# Executions per CPU second of one fuzz target, for comparing a hook before and after a change:
# the built binary (stable, `-s none`, as `cargo fuzz build -s none [--features ...] TARGET`
# leaves it) fuzzes RUNS inputs from a scratch copy of CORPUS with a fixed seed, and the
# script divides RUNS by the CPU time it took (user + system, one process).
#
#   fuzz/rate.sh TARGET RUNS [CORPUS] [BINARY_DIR]
#
# CORPUS defaults to seeds/TARGET; a grown corpus (a long run's corpus/TARGET) measures the
# inputs a long run executes. BINARY_DIR defaults to where run-long.sh's stable build puts the
# target: target/x86_64-unknown-linux-gnu/release, or target-notc/... for door_sim* (built
# `--no-trace-compares`, see run-long.sh); pass another checkout's to measure its build on the
# same inputs. The libFuzzer options of run-long.sh for the target apply.
set -euo pipefail
cd "$(dirname "$0")"
target=$1 runs=$2 corpus=${3:-seeds/$1}
case "$target" in
    door_sim*) bin_dir=${4:-target-notc/x86_64-unknown-linux-gnu/release} ;;
    *) bin_dir=${4:-target/x86_64-unknown-linux-gnu/release} ;;
esac

options=()
case "$target" in
    admit_sequence*) options=(-max_len=121 -len_control=0) ;;
    door_sim*) options=(-max_len=640 -len_control=0) ;;
esac
scratch=$(mktemp -d) times=$(mktemp)
trap 'rm -rf "$scratch" "$times"' EXIT
cp -r "$corpus/." "$scratch/"
/usr/bin/time -o "$times" -f '%U %S' "$bin_dir/$target" -runs="$runs" -seed=5 \
    "${options[@]}" "$scratch" >"$scratch.log" 2>&1 || { tail -20 "$scratch.log"; exit 1; }
rm -f "$scratch.log"
awk -v target="$target" -v runs="$runs" \
    '{ cpu = $1 + $2; printf "%-22s %9d runs %8.2f cpu-s %9.0f exec/cpu-s\n", target, runs, cpu, runs / cpu }' \
    "$times"
