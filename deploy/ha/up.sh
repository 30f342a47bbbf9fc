#!/usr/bin/env bash
# Starts, on this machine, the HA layout of README.md: three etcd members, three PostgreSQL
# members under Patroni (synchronous replication), HAProxy in front of the current primary and
# two `porter serve` processes, all on 127.0.0.1 with their data under one directory.
#
#   deploy/ha/up.sh [DIR]     DIR: where everything lives (default: a new /tmp/porter-ha.*);
#                             printed last, with the addresses, in DIR/stack.env
#   deploy/ha/down.sh DIR     stops everything and removes DIR
#
# Environment: PORTER_BIN (default target/debug/porter, or $CARGO_TARGET_DIR/debug/porter),
# HA_BASE_PORT (24000: every port derives from it, see lib.sh), HA_PG_MEMBERS (3).
# Works as root (PostgreSQL and Patroni then run as the `postgres` user) or as that user.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"

for tool in etcd etcdctl patroni haproxy curl; do
    if ! command -v "$tool" >/dev/null; then
        echo "up.sh: $tool is not installed: run server/ci-install.sh" >&2
        exit 1
    fi
done
if [ -z "$PG_BIN" ]; then
    echo "up.sh: PostgreSQL is not installed: run server/ci-install.sh" >&2
    exit 1
fi
PORTER_BIN=${PORTER_BIN:-${CARGO_TARGET_DIR:-$HERE/../../target}/debug/porter}
if [ ! -x "$PORTER_BIN" ]; then
    echo "up.sh: no porter binary at $PORTER_BIN: cargo build -p porter-server --bin porter" >&2
    exit 1
fi
# Absolute: the members are started from their own directories, where a relative path (the
# default `target/...` when CARGO_TARGET_DIR is unset) names nothing.
PORTER_BIN=$(realpath "$PORTER_BIN")

DIR=${1:-$(mktemp -d /tmp/porter-ha.XXXXXX)}
mkdir -p "$DIR"/{pids,logs,pg,archive}
DIR=$(cd "$DIR" && pwd)
chmod 755 "$DIR"
if [ "$(id -u)" = 0 ]; then chown postgres "$DIR/pg" "$DIR/archive"; fi
chmod 700 "$DIR/pg"

AS_POSTGRES=()
if [ "$(id -u)" = 0 ]; then AS_POSTGRES=(runuser -u postgres --); fi

# Fresh passwords for this stack (a real deployment keeps them in its secret store).
secret() { head -c 18 /dev/urandom | base64 | tr -d '/+='; }
SUPERUSER_PASSWORD=$(secret)
REPLICATION_PASSWORD=$(secret)
REWIND_PASSWORD=$(secret)
PORTER_PASSWORD=$(secret)

# Starts "$@" in the background with its output in logs/$name.log and its pid in pids/$name.pid.
start() {
    local name=$1
    shift
    # From /, which the postgres user may enter; setsid: its own process group, for down.sh.
    (cd / && exec setsid "$@" >"$DIR/logs/$name.log" 2>&1 </dev/null) &
    echo $! >"$DIR/pids/$name.pid"
}

echo "up.sh: etcd x$ETCD_MEMBERS"
cluster=()
for i in $(seq 1 $ETCD_MEMBERS); do cluster+=("etcd$i=http://127.0.0.1:$(etcd_peer_port "$i")"); done
initial_cluster=$(IFS=,; echo "${cluster[*]}")
for i in $(seq 1 $ETCD_MEMBERS); do
    start "etcd$i" etcd --name "etcd$i" --data-dir "$DIR/etcd$i" \
        --listen-client-urls "http://127.0.0.1:$(etcd_client_port "$i")" \
        --advertise-client-urls "http://127.0.0.1:$(etcd_client_port "$i")" \
        --listen-peer-urls "http://127.0.0.1:$(etcd_peer_port "$i")" \
        --initial-advertise-peer-urls "http://127.0.0.1:$(etcd_peer_port "$i")" \
        --initial-cluster "$initial_cluster" --initial-cluster-token "porter-$BASE" \
        --initial-cluster-state new --heartbeat-interval 100 --election-timeout 1000 --enable-v2=true
done
if ! wait_for 30 env ETCDCTL_API=3 etcdctl --endpoints "$(etcd_hosts)" endpoint health; then
    echo "up.sh: etcd did not become healthy; see $DIR/logs/etcd*.log" >&2
    exit 1
fi

echo "up.sh: PostgreSQL x$PG_MEMBERS under Patroni"
for i in $(seq 1 $PG_MEMBERS); do
    name="pg$i"
    as_postgres mkdir -p "$DIR/pg/$name"
    sed -e "s|@NAME@|$name|g" -e "s|@DIR@|$DIR/pg|g" -e "s|@PG_PORT@|$(pg_port "$i")|g" \
        -e "s|@REST_PORT@|$(rest_port "$i")|g" -e "s|@ETCD_HOSTS@|$(etcd_hosts)|g" \
        -e "s|@PG_BIN@|$PG_BIN|g" -e "s|@ARCHIVE@|$DIR/archive|g" \
        -e "s|@SUPERUSER_PASSWORD@|$SUPERUSER_PASSWORD|g" \
        -e "s|@REPLICATION_PASSWORD@|$REPLICATION_PASSWORD|g" \
        -e "s|@REWIND_PASSWORD@|$REWIND_PASSWORD|g" \
        "$HERE/patroni.yml.in" >"$DIR/pg/$name.yml"
    if [ "$(id -u)" = 0 ]; then chown postgres "$DIR/pg/$name.yml"; fi
    chmod 600 "$DIR/pg/$name.yml"
    start "patroni$i" "${AS_POSTGRES[@]}" patroni "$DIR/pg/$name.yml"
    # The first member initialises the cluster; the others then copy it (pg_basebackup).
    if [ "$i" = 1 ] && ! wait_for 60 member_answering primary; then
        echo "up.sh: no primary after 60 s; see $DIR/logs/patroni1.log" >&2
        exit 1
    fi
done
if ! wait_for 90 member_answering sync; then
    echo "up.sh: no synchronous standby after 90 s; see $DIR/logs/patroni*.log" >&2
    exit 1
fi
PRIMARY=$(member_answering primary)

servers=""
for i in $(seq 1 $PG_MEMBERS); do
    servers+="    server pg$i 127.0.0.1:$(pg_port "$i") check port $(rest_port "$i")"$'\n'
done
awk -v servers="$servers" '{ if ($0 == "@SERVERS@") printf "%s", servers; else print }' \
    "$HERE/haproxy.cfg.in" |
    sed -e "s|@DIR@|$DIR|g" -e "s|@PRIMARY_PORT@|$PRIMARY_PORT|g" -e "s|@STATS_PORT@|$STATS_PORT|g" \
        >"$DIR/haproxy.cfg"
haproxy -c -q -f "$DIR/haproxy.cfg"
start haproxy haproxy -db -f "$DIR/haproxy.cfg"

# The application's role and database, made through HAProxy (so on the primary).
SUPER_URL="postgres://postgres:$SUPERUSER_PASSWORD@127.0.0.1:$PRIMARY_PORT/postgres"
psql_super() { PGCONNECT_TIMEOUT=3 "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 "$SUPER_URL" "$@"; }
# HAProxy starts with every member up until its first checks: wait until it routes to the
# primary only (its status page as CSV: proxy, server, ..., status in field 18).
routes_to_primary_only() {
    curl -sf "http://127.0.0.1:$STATS_PORT/;csv" | awk -F, -v p="$PRIMARY" '
        $1 == "postgres_primary" && $2 ~ /^pg/ { n++; if (($2 == p) != ($18 == "UP")) bad = 1 }
        END { exit (bad || n == 0) }'
}
if ! wait_for 20 routes_to_primary_only || ! wait_for 20 psql_super -c 'SELECT 1'; then
    echo "up.sh: HAProxy does not reach the primary; see $DIR/logs/haproxy.log" >&2
    exit 1
fi
psql_super -c "CREATE ROLE porter LOGIN PASSWORD '$PORTER_PASSWORD'"
psql_super -c "CREATE DATABASE porter OWNER porter"
DATABASE_URL="postgres://porter:$PORTER_PASSWORD@127.0.0.1:$PRIMARY_PORT/porter"

echo "up.sh: porter serve x$PORTER_PROCESSES"
OPERATOR_TOKEN=$(PORTER_DATABASE_URL="$DATABASE_URL" "$PORTER_BIN" operator-token --label ha)
bases=()
for i in $(seq 1 $PORTER_PROCESSES); do
    port=$(porter_port "$i")
    # Webhook receivers of the tests listen on 127.0.0.1; short outbox timers so that the
    # failover test sees deliveries within seconds. A deployment keeps the defaults.
    start "porter$i" env PORTER_DATABASE_URL="$DATABASE_URL" PORTER_LISTEN="127.0.0.1:$port" \
        PORTER_WEBHOOK_ALLOW_TARGETS="${PORTER_WEBHOOK_ALLOW_TARGETS:-127.0.0.1}" \
        PORTER_OUTBOX_INTERVAL_MS="${PORTER_OUTBOX_INTERVAL_MS:-200}" \
        PORTER_WEBHOOK_BACKOFF_SECONDS="${PORTER_WEBHOOK_BACKOFF_SECONDS:-1}" \
        PORTER_WEBHOOK_LEASE_SECONDS="${PORTER_WEBHOOK_LEASE_SECONDS:-5}" \
        PORTER_RATE_LIMIT_PER_MINUTE="${PORTER_RATE_LIMIT_PER_MINUTE:-100000}" \
        PORTER_LOG_LEVEL="${PORTER_LOG_LEVEL:-warn}" \
        "$PORTER_BIN" serve
    bases+=("http://127.0.0.1:$port")
    if ! wait_for 30 curl -sf "http://127.0.0.1:$port/healthz"; then
        echo "up.sh: porter$i does not answer /healthz; see $DIR/logs/porter$i.log" >&2
        exit 1
    fi
done

cat >"$DIR/stack.env" <<ENV
# Written by deploy/ha/up.sh; read by down.sh and the failover test.
HA_DIR=$DIR
HA_BASE_PORT=$BASE
HA_PG_MEMBERS=$PG_MEMBERS
HA_PG_BIN=$PG_BIN
HA_PORTER_URLS=$(IFS=,; echo "${bases[*]}")
HA_DATABASE_URL=$DATABASE_URL
HA_SUPERUSER_URL=$SUPER_URL
HA_REPLICATION_USER=replicator
HA_REPLICATION_PASSWORD=$REPLICATION_PASSWORD
HA_PRIMARY_PORT=$PRIMARY_PORT
HA_OPERATOR_TOKEN=$OPERATOR_TOKEN
ENV
chmod 600 "$DIR/stack.env"
echo "up.sh: primary $PRIMARY, synchronous standby $(member_answering sync)"
echo "up.sh: porter at $(IFS=' '; echo "${bases[*]}"), database through 127.0.0.1:$PRIMARY_PORT"
echo "up.sh: stack in $DIR (stop it with deploy/ha/down.sh $DIR)"
