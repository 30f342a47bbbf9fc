#!/usr/bin/env bash
# The failover test (issue 13), run by server/ci.sh: starts the HA stack (up.sh), runs
# server/tests/failover.rs against it under load (SIGKILL of the primary's postgres, then its
# Patroni agent stopped), then tests a point-in-time restore from a base backup and the WAL
# archive (pitr-test.sh), and stops the stack. Prints the failover times and retry counts.
#   deploy/ha/failover-test.sh        from the repository root; HA_KEEP=1 keeps the stack dir
set -euo pipefail
cd "$(dirname "$0")/../.."
TARGET=${CARGO_TARGET_DIR:-target}
cargo build -q -p porter-server --bin porter
cargo test -q -p porter-server --test failover --no-run

DIR=$(mktemp -d /tmp/porter-ha.XXXXXX)
finish() {
    status=$?
    if [ $status != 0 ]; then
        echo "failover-test.sh: failed; the last lines of each log in $DIR/logs:" >&2
        for log in "$DIR"/logs/*.log; do echo "--- $log" >&2; tail -n 15 "$log" >&2; done
    fi
    deploy/ha/down.sh "$DIR" ${HA_KEEP:+--keep}
    exit $status
}
trap finish EXIT
started=$SECONDS
PORTER_BIN="$TARGET/debug/porter" deploy/ha/up.sh "$DIR"
echo "failover-test.sh: stack up in $((SECONDS - started)) s"
PORTER_TEST_HA="$DIR" cargo test -q -p porter-server --test failover under_load -- --nocapture
deploy/ha/pitr-test.sh "$DIR"
echo "failover-test.sh: done in $((SECONDS - started)) s"
