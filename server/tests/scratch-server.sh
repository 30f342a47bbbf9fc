# Sourced by the scripted tests (tests/client/run.sh, tests/schemathesis/run.sh): a scratch
# directory removed on exit, and a `porter serve` in it on a free port, stopped on exit.

# Makes $WORK (a fresh directory named after $1) and removes it, and the server, on exit.
scratch_dir() {
    WORK=$(mktemp -d "/tmp/$1.XXXXXX")
    SERVER_PID=""
    trap stop_scratch EXIT
}

stop_scratch() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}

# Starts `$1 serve` on 127.0.0.1 (any free port) with the PORTER_* settings given after it
# (`NAME=value`), and sets $BASE to its address once it listens.
start_server() {
    local porter=$1
    shift
    env -u PORTER_CONFIG PORTER_LISTEN=127.0.0.1:0 PORTER_LOG_LEVEL=warn "$@" \
        "$porter" serve > "$WORK/serve.out" 2>"$WORK/serve.err" &
    SERVER_PID=$!
    for _ in $(seq 100); do
        grep -q "porter listening on" "$WORK/serve.out" 2>/dev/null && break
        sleep 0.1
    done
    BASE=$(sed -n 's/^porter listening on //p' "$WORK/serve.out" | head -n 1)
    if [ -z "$BASE" ]; then cat "$WORK/serve.err" >&2; echo "porter serve did not start" >&2; exit 1; fi
}
