# Shared by up.sh, down.sh and the tests: the ports of the one-machine layout and how to run
# PostgreSQL's tools. Sourced, never run. Every port derives from HA_BASE_PORT (default 24000).
BASE=${HA_BASE_PORT:-24000}
ETCD_MEMBERS=3
PG_MEMBERS=${HA_PG_MEMBERS:-3}
PORTER_PROCESSES=2

etcd_client_port() { echo $((BASE + $1)); }       # etcd1..3: 24001..24003
etcd_peer_port() { echo $((BASE + 10 + $1)); }    # 24011..24013
pg_port() { echo $((BASE + 100 + $1)); }          # pg1..3: 24101..24103
rest_port() { echo $((BASE + 200 + $1)); }        # Patroni REST API: 24201..24203
PRIMARY_PORT=$((BASE + 300))                      # HAProxy: always the current primary
STATS_PORT=$((BASE + 301))                        # HAProxy's status page
porter_port() { echo $((BASE + 400 + $1)); }      # porter serve: 24401, 24402

etcd_hosts() {
    local hosts=() i
    for i in $(seq 1 $ETCD_MEMBERS); do hosts+=("127.0.0.1:$(etcd_client_port "$i")"); done
    (IFS=,; echo "${hosts[*]}")
}

PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)

# PostgreSQL (and so Patroni) refuses to run as root: as root, run them as `postgres`, from a
# directory that user may enter.
as_postgres() {
    if [ "$(id -u)" = 0 ]; then
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

# Waits up to $1 seconds for the command that follows to succeed.
wait_for() {
    local seconds=$1
    shift
    local deadline=$((SECONDS + seconds))
    until "$@" >/dev/null 2>&1; do
        if [ $SECONDS -ge $deadline ]; then return 1; fi
        sleep 0.2
    done
}

# The HTTP status of a GET (000 when nothing answers).
http_status() { curl -s -o /dev/null -m 2 -w '%{http_code}' "$1" || true; }

# The member name whose Patroni answers 200 on $1 (`primary`, `sync`, ...), or nothing.
member_answering() {
    local i
    for i in $(seq 1 $PG_MEMBERS); do
        if [ "$(http_status "http://127.0.0.1:$(rest_port "$i")/$1")" = 200 ]; then
            echo "pg$i"
            return 0
        fi
    done
    return 1
}
