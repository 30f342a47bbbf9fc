#!/usr/bin/env python3
"""Prints each admission benchmark as a ratio of the raw Ed25519 verify measured in the same run.

Reads criterion's estimates (target/criterion/admission/*/new/estimates.json); run after
`cargo bench -p porter-benches`. Exits non-zero if steady-state admission exceeds its budget
of 2.1 raw verifies, so the budget is checked from a benchmark, never a timed test.
"""
import json
import os
import sys

BUDGET = 2.1
root = os.path.join(os.environ.get("CARGO_TARGET_DIR", "target"), "criterion", "admission")


def median_ns(name):
    with open(os.path.join(root, name, "new", "estimates.json")) as f:
        return json.load(f)["median"]["point_estimate"]


base = median_ns("raw_ed25519_verify")
print(f"{'benchmark':<24} {'median':>12} {'x raw verify':>13}")
for name in sorted(os.listdir(root)):
    if os.path.exists(os.path.join(root, name, "new", "estimates.json")):
        ns = median_ns(name)
        print(f"{name:<24} {ns / 1000:>9.2f} us {ns / base:>12.3f}x")
steady = median_ns("steady_state") / base
if steady > BUDGET:
    print(f"steady-state admission is {steady:.3f}x a raw verify, over the {BUDGET}x budget")
    sys.exit(1)
print(f"steady-state admission: {steady:.3f}x a raw verify (budget {BUDGET}x)")
