#!/usr/bin/env bash
# A client generated from the OpenAPI document by a standard generator (openapi-python-client,
# pinned in server/ci-install.sh, in the venv named by PORTER_CLIENT_VENV) drives one full
# delivery against a running `porter serve` on a scratch SQLite database.
# Usage: server/tests/client/run.sh <path to porter> <path to porter-root>
set -euo pipefail
PORTER=$(realpath "$1")
PORTER_ROOT=$(realpath "$2")
HERE=$(cd "$(dirname "$0")" && pwd)
VENV=${PORTER_CLIENT_VENV:-/opt/porter-client-venv}
if [ ! -x "$VENV/bin/openapi-python-client" ]; then
    echo "server/tests/client/run.sh: no $VENV/bin/openapi-python-client: run server/ci-install.sh" >&2
    exit 1
fi
# shellcheck source=../scratch-server.sh
. "$HERE/../scratch-server.sh"
scratch_dir porter-client

"$PORTER" openapi > "$WORK/openapi.json"
mkdir "$WORK/gen"
printf 'package_name_override: porter_client\npost_hooks: []\n' > "$WORK/generator.yml"
"$VENV/bin/openapi-python-client" generate --path "$WORK/openapi.json" --config "$WORK/generator.yml" \
    --meta none --output-path "$WORK/gen/porter_client" >"$WORK/generate.log" 2>&1 \
    || { cat "$WORK/generate.log" >&2; exit 1; }
# The generator warns about parts of a document it could not turn into code: none allowed.
if grep -qiE 'warning|could not|unable' "$WORK/generate.log"; then
    cat "$WORK/generate.log" >&2
    echo "server/tests/client/run.sh: the generator did not take the whole document" >&2
    exit 1
fi

export PORTER_DATABASE_URL="sqlite://$WORK/porter.db"
"$PORTER" operator-token --label client-test > "$WORK/operator" 2>"$WORK/operator.err" \
    || { cat "$WORK/operator.err" >&2; exit 1; }
start_server "$PORTER"

PYTHONPATH="$WORK/gen" PORTER_URL="$BASE" PORTER_OPERATOR_TOKEN=$(cat "$WORK/operator") \
    PORTER_ROOT_BIN="$PORTER_ROOT" PORTER_WORK="$WORK" "$VENV/bin/python" "$HERE/delivery.py"
