#!/usr/bin/env bash
# The API fuzzer against the OpenAPI document: Schemathesis (pinned in server/ci-install.sh,
# in the venv named by PORTER_SCHEMATHESIS_VENV) sends generated requests to a running
# `porter serve` on a scratch SQLite database, as nobody and as each role, with every check it
# has by default (no 5xx; every status, content type, header and body as the document says;
# schema-violating requests refused, schema-valid ones accepted: see schemathesis.toml for
# the one exception). Fails on any failure.
# Usage: server/tests/schemathesis/run.sh <path to porter> [max examples per operation, 25]
# Other seeds: PORTER_SCHEMATHESIS_SEED=<n> (the default is fixed, so a failure reproduces).
set -euo pipefail
PORTER=$(realpath "$1")
EXAMPLES=${2:-25}
SEED=${PORTER_SCHEMATHESIS_SEED:-20261207}
HERE=$(cd "$(dirname "$0")" && pwd)
VENV=${PORTER_SCHEMATHESIS_VENV:-/opt/porter-schemathesis-venv}
if [ ! -x "$VENV/bin/st" ]; then
    echo "server/tests/schemathesis/run.sh: no $VENV/bin/st: run server/ci-install.sh" >&2
    exit 1
fi
# shellcheck source=../scratch-server.sh
. "$HERE/../scratch-server.sh"
scratch_dir porter-schemathesis

export PORTER_DATABASE_URL="sqlite://$WORK/porter.db"
operator_token() {
    "$PORTER" operator-token --label schemathesis 2>"$WORK/operator.err" | tail -n 1 \
        || { cat "$WORK/operator.err" >&2; exit 1; }
}
operator_token > /dev/null # creates the database before the server opens it
# The rate limit off (the fuzzer sends thousands of requests with one token); everything else
# as a fresh install has it.
start_server "$PORTER" PORTER_RATE_LIMIT_PER_MINUTE=1000000

# Schemathesis keeps a cache in its working directory: the scratch one, not the checkout.
cd "$WORK"
failed=0
for who in nobody operator manager carrier resident; do
    # Fresh tokens for each role: the fuzzer revokes the tokens it can reach, its own included.
    tokens=$("$VENV/bin/python" "$HERE/setup.py" "$BASE" "$(operator_token)")
    auth=()
    if [ "$who" != nobody ]; then
        token=$(printf '%s' "$tokens" | "$VENV/bin/python" -c "import json, sys; print(json.load(sys.stdin)['$who'])")
        auth=(-H "Authorization: Bearer $token")
    fi
    log="$WORK/st-$who.log"
    if "$VENV/bin/st" --config-file "$HERE/schemathesis.toml" --no-color run "$BASE/v1/openapi.json" \
        "${auth[@]}" --max-examples "$EXAMPLES" --seed "$SEED" --workers 1 >"$log" 2>&1; then
        printf 'schemathesis as %-9s %s\n' "$who" "$(grep -E 'generated' "$log" | tail -n 1 | sed 's/^ *//')"
    else
        sed -n '/FAILURES\|ERRORS/,$p' "$log" >&2
        echo "schemathesis as $who: failures above (seed $SEED)" >&2
        failed=1
    fi
done
# The server logged no error and did not panic under all of it.
if grep -E '(ERROR|panicked)' "$WORK/serve.err" >&2; then
    echo "porter serve logged errors under the API fuzzer" >&2
    failed=1
fi
exit "$failed"
