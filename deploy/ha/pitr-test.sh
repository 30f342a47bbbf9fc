#!/usr/bin/env bash
# Backup and point-in-time recovery, tested (server/README.md, "Operations"): a base backup
# of the running HA cluster with pg_basebackup, writes before and after a chosen instant, then
# a restore of that backup replaying the WAL archive up to the instant, into a fresh
# PostgreSQL; it must hold the first writes and not the later ones.
#   deploy/ha/pitr-test.sh DIR     DIR: a stack started by up.sh (its archive/ directory)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
DIR=$(cd "${1:?usage: pitr-test.sh DIR}" && pwd)
# shellcheck disable=SC1091
. "$DIR/stack.env"
# As the superuser, in porter's database (the probe table lives beside porter's tables).
PORTER_DB_URL="${HA_SUPERUSER_URL%/postgres}/porter"
sql() { PGCONNECT_TIMEOUT=5 "$PG_BIN/psql" -X -q -t -A -v ON_ERROR_STOP=1 "$PORTER_DB_URL" -c "$1"; }

# 1. The base backup, from the primary (through HAProxy), with the WAL it needs.
BACKUP="$DIR/pg/backup"  # under pg/: the postgres user owns it
as_postgres mkdir -p "$BACKUP"
as_postgres env PGPASSWORD="$HA_REPLICATION_PASSWORD" "$PG_BIN/pg_basebackup" \
    -h 127.0.0.1 -p "$HA_PRIMARY_PORT" -U "$HA_REPLICATION_USER" \
    -D "$BACKUP/base" -X stream --checkpoint=fast
echo "pitr-test.sh: base backup taken ($(du -sh "$BACKUP/base" | cut -f1))"

# 2. Writes before the recovery target, then after it; the WAL is archived.
sql "CREATE TABLE pitr_probe (n BIGINT, at TIMESTAMPTZ DEFAULT clock_timestamp())"
sql "INSERT INTO pitr_probe (n) VALUES (1)"
GRANTS=$(sql "SELECT count(*) FROM grants")
sleep 1
TARGET=$(sql "SELECT clock_timestamp()")
sleep 1
sql "INSERT INTO pitr_probe (n) VALUES (2)"
LAST=$(sql "SELECT pg_walfile_name(pg_switch_wal())")
for _ in $(seq 1 100); do
    [ -f "$DIR/archive/$LAST" ] && break
    sleep 0.1
done
[ -f "$DIR/archive/$LAST" ] || { echo "pitr-test.sh: $LAST never reached the archive" >&2; exit 1; }

# 3. The restore: the base backup, recovery.signal, the archive as restore_command, the target.
RESTORE="$DIR/pg/restore"
as_postgres cp -a "$BACKUP/base" "$RESTORE"
as_postgres touch "$RESTORE/recovery.signal"
as_postgres rm -f "$RESTORE/standby.signal" "$RESTORE/postmaster.pid"
PORT=$((BASE + 500))
as_postgres tee -a "$RESTORE/postgresql.auto.conf" >/dev/null <<CONF
# Point-in-time recovery (pitr-test.sh)
restore_command = 'cp $DIR/archive/%f %p'
recovery_target_time = '$TARGET'
recovery_target_action = 'promote'
port = $PORT
listen_addresses = ''
unix_socket_directories = '$DIR/pg'
archive_mode = off
synchronous_standby_names = ''
hot_standby = on
CONF
restored() { as_postgres "$PG_BIN/psql" -X -q -t -A -h "$DIR/pg" -p "$PORT" -d porter -c "$1"; }
as_postgres "$PG_BIN/pg_ctl" -D "$RESTORE" -l "$DIR/pg/restore.log" -w -t 60 start >/dev/null
trap 'as_postgres "$PG_BIN/pg_ctl" -D "$RESTORE" -m fast stop >/dev/null 2>&1 || true' EXIT
promoted() { [ "$(restored 'SELECT pg_is_in_recovery()' 2>/dev/null)" = f ]; }
wait_for 60 promoted ||
    { echo "pitr-test.sh: recovery did not finish; see $DIR/pg/restore.log" >&2; exit 1; }
ROWS=$(restored "SELECT string_agg(n::text, ',' ORDER BY n) FROM pitr_probe")
RESTORED_GRANTS=$(restored "SELECT count(*) FROM grants")
if [ "$ROWS" != 1 ]; then
    echo "pitr-test.sh: restored to $TARGET, expected the write before it only, found rows $ROWS" >&2
    exit 1
fi
echo "pitr-test.sh: restored to $TARGET from the base backup and $(ls "$DIR/archive" | wc -l) archived WAL files: the write before the target is there, the one after is not; $RESTORED_GRANTS grants (the cluster had $GRANTS at the target)"
if [ "$RESTORED_GRANTS" != "$GRANTS" ]; then
    echo "pitr-test.sh: the restored database has $RESTORED_GRANTS grants, the cluster had $GRANTS" >&2
    exit 1
fi
