#!/usr/bin/env bash
# Stops what deploy/ha/up.sh started in DIR (by the pids it recorded) and removes DIR.
#   deploy/ha/down.sh DIR [--keep]     --keep: leave DIR (logs, data) in place
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
DIR=${1:?usage: down.sh DIR [--keep]}
[ -d "$DIR/pids" ] || { echo "down.sh: $DIR is not a stack made by up.sh" >&2; exit 1; }

stop() {
    local pidfile=$1 pid
    [ -f "$pidfile" ] || return 0
    pid=$(cat "$pidfile")
    # setsid made each process a session (and group) leader: signal the group.
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
    rm -f "$pidfile"
}
for f in "$DIR"/pids/porter*.pid; do stop "$f"; done
stop "$DIR/pids/haproxy.pid"
for f in "$DIR"/pids/patroni*.pid; do stop "$f"; done
# A member whose Patroni was killed leaves its postgres running: stop it too.
for data in "$DIR"/pg/*/data; do
    if [ -f "$data/postmaster.pid" ] && [ -n "$PG_BIN" ]; then
        as_postgres "$PG_BIN/pg_ctl" -D "$data" -m immediate stop >/dev/null 2>&1 || true
    fi
done
for f in "$DIR"/pids/etcd*.pid; do stop "$f"; done
if [ "${2:-}" != "--keep" ]; then rm -rf "$DIR"; fi
