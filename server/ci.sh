#!/usr/bin/env bash
# porter-server's CI, run from the repository root: format, lints, and the integration tests
# against SQLite and against a real PostgreSQL started here on 127.0.0.1 (a private cluster in
# a temporary directory, no systemd), stopped and removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$PGBIN" ]; then
    echo "server/ci.sh: PostgreSQL is not installed: run server/ci-install.sh" >&2
    exit 1
fi
PGDATA=$(mktemp -d /tmp/porter-pg.XXXXXX)
# The first free port from 55433 (bash's /dev/tcp: a refused connection means free).
PGPORT=${PORTER_CI_PGPORT:-}
if [ -z "$PGPORT" ]; then
    for p in $(seq 55433 55533); do
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then PGPORT=$p; break; fi
    done
fi
AS=()
if [ "$(id -u)" = 0 ]; then
    chown postgres "$PGDATA"
    AS=(runuser -u postgres --)
fi
# Run PostgreSQL's tools from its own directory: the postgres user may not enter the checkout.
pg() { (cd "$PGDATA" && "${AS[@]}" "$@"); }
cleanup() {
    pg "$PGBIN/pg_ctl" -D "$PGDATA" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$PGDATA"
}
trap cleanup EXIT
pg "$PGBIN/initdb" -D "$PGDATA" -U postgres -A trust >/dev/null
pg "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PGDATA/server.log" -w \
    -o "-p $PGPORT -k $PGDATA -c listen_addresses=127.0.0.1 -c max_connections=300" start >/dev/null
echo "server/ci.sh: PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PGPORT"

export PORTER_TEST_POSTGRES="postgres://postgres@127.0.0.1:$PGPORT/postgres"
export PORTER_REQUIRE_POSTGRES=1
export PORTER_TEST_POSTGRES_LOG="$PGDATA/server.log"

cargo fmt -p porter-server -- --check
cargo clippy -p porter-server --all-targets -- -D warnings
# The portal's browser and email tests (tests/portal/{browser,mail}.rs) need what
# ci-install.sh installs (Chromium, the pinned npm packages, aiosmtpd): here they must run.
export PORTER_PORTAL_TOOLS=1
cargo test -p porter-server
# A few seconds of `porter bench` on each backend: the report is written and no operation failed.
# A smoke run of the load generator, not a timed assertion: no figure is checked.
cargo build -q -p porter-server --bin porter
for BENCH_DB in sqlite "$PORTER_TEST_POSTGRES"; do
    BENCH_OUT=$(mktemp -d /tmp/porter-bench.XXXXXX)
    BENCH_ARGS=(--clients 8 --seconds 2 --deliveries 100 --batch-records 64 --limit-seconds 1 --out "$BENCH_OUT")
    if [ "$BENCH_DB" != sqlite ]; then BENCH_ARGS+=(--database-url "$BENCH_DB"); fi
    "${CARGO_TARGET_DIR:-target}/debug/porter" bench "${BENCH_ARGS[@]}" >/dev/null
    python3 server/tests/bench_report_check.py "$BENCH_OUT"
    rm -rf "$BENCH_OUT"
done
# The OpenAPI document is a contract: it must validate (openapi-spec-validator, see ci-install.sh).
OPENAPI_JSON=$(mktemp /tmp/porter-openapi.XXXXXX.json)
cargo run -q -p porter-server --bin porter -- openapi > "$OPENAPI_JSON"
python3 -m openapi_spec_validator "$OPENAPI_JSON"
rm -f "$OPENAPI_JSON"
# ... and a client generated from it by a standard generator drives one full delivery.
cargo build -q -p porter-server --bin porter
cargo build -q -p porter-root --bin porter-root
server/tests/client/run.sh "${CARGO_TARGET_DIR:-target}/debug/porter" "${CARGO_TARGET_DIR:-target}/debug/porter-root"
# ... and an API fuzzer reading the same document (Schemathesis, every default check, as
# nobody and as each role) finds nothing: about five minutes.
server/tests/schemathesis/run.sh "${CARGO_TARGET_DIR:-target}/debug/porter"
# Failover (issue 13): the Patroni + etcd + HAProxy stack of deploy/ha under load, its primary
# killed and then cut off; then a point-in-time restore from a base backup. About a minute.
deploy/ha/failover-test.sh
