#!/usr/bin/env bash
# Fuzz the whole API with schemathesis against a live server on a fresh PostgreSQL database.
#
# Creates a database, migrates it, loads the demo data, issues a token for the demo admin, serves the
# project with gunicorn (DEBUG=0, Celery eager) on a free port of 127.0.0.1, runs schemathesis over
# every operation of /api/schema/, then stops the server and drops the database. Exits non-zero on
# any failure. See docs/api-fuzzing.md. The budget comes from the environment:
#   FUZZ_MAX_EXAMPLES  test cases per operation in the fuzzing phase (default 20)
#   FUZZ_PHASES        schemathesis phases (default examples,fuzzing; a long run adds coverage,stateful)
#   FUZZ_SEED          the seed, fixed so that a run can be replayed (default 15)
#   FUZZ_MAX_TIME      optional: keep fuzzing until this many seconds are spent (a long run)
#   FUZZ_TIMEOUT       hard limit of the schemathesis run, in seconds (default 900)
#   FUZZ_WORKERS       schemathesis workers (default 2); WEB_WORKERS gunicorn workers (default 2)
#   FUZZ_REPORT_DIR    where the reports and the server's log go (default var/fuzz)
# Extra arguments are passed to `schemathesis run` (e.g. --include-path-regex '^/api/ipam/').
set -euo pipefail
cd "$(dirname "$0")/.."

PY=.venv/bin/python
PG_HOST=${PG_HOST:-127.0.0.1}
PG_PORT=${PG_PORT:-5432}
PG_USER=${PG_USER:-postgres}
DB_NAME=${FUZZ_DB_NAME:-catalog_fuzz_$$}
REPORT_DIR=${FUZZ_REPORT_DIR:-var/fuzz}

export DEBUG=0
export SECRET_KEY=${SECRET_KEY:-fuzz-only-secret-key}
export DATABASE_URL="postgres://${PG_USER}@${PG_HOST}:${PG_PORT}/${DB_NAME}"
# No broker: generator runs execute inline (eager), so a reconcile answers with its finished run
# and nothing is left behind in a queue when the database is dropped.
unset CELERY_BROKER_URL CELERY_RESULT_BACKEND REDIS_URL
CACHE_DIR=$(mktemp -d)
export CACHE_DIR

server_pid=""
cleanup() {
  status=$?
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid"
    wait "$server_pid" 2>/dev/null || true
  fi
  dropdb -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" --if-exists "$DB_NAME" || status=1
  rm -rf "$CACHE_DIR"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "fuzz: database $DB_NAME"
createdb -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" "$DB_NAME"
"$PY" manage.py migrate --noinput >/dev/null
"$PY" manage.py load_demo >/dev/null
token=$("$PY" manage.py create_token admin --description "schemathesis" 2>/dev/null | tail -n1)
port=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# scripts/fuzz_hooks.py points generated ids at real objects, and keeps the fuzzer's writes off the
# admin and its token.
read -r FUZZ_USER_ID FUZZ_TOKEN_ID < <("$PY" manage.py shell -v 0 -c \
  "from catalog_site.models import Token; t = Token.objects.latest('pk'); print(t.user_id, t.pk)")
export FUZZ_USER_ID FUZZ_TOKEN_ID FUZZ_TOKEN="$token" FUZZ_BASE_URL="http://127.0.0.1:$port"
export SCHEMATHESIS_HOOKS=scripts/fuzz_hooks.py
mkdir -p "$REPORT_DIR"
# No request-line limit: gunicorn's own (4094 bytes) answers an HTML 414 before the application sees
# the request; in production the front server sets that limit.
.venv/bin/gunicorn catalog_site.wsgi:application --bind "127.0.0.1:$port" --workers "${WEB_WORKERS:-2}" \
  --timeout 60 --limit-request-line 0 --log-level warning >"$REPORT_DIR/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 60); do
  "$PY" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=5)' \
    "http://127.0.0.1:$port/api/schema/" 2>/dev/null && break
  kill -0 "$server_pid" 2>/dev/null || { echo "fuzz: gunicorn did not start" >&2; cat "$REPORT_DIR/server.log" >&2; exit 1; }
  sleep 0.5
done

budget=(--max-examples "${FUZZ_MAX_EXAMPLES:-20}" --seed "${FUZZ_SEED:-15}")
if [ -n "${FUZZ_MAX_TIME:-}" ]; then
  budget+=(--max-time "$FUZZ_MAX_TIME")
fi
echo "fuzz: schemathesis on http://127.0.0.1:$port/api/schema/ (${budget[*]}, phases ${FUZZ_PHASES:-examples,fuzzing})"
status=0
timeout --signal=INT "${FUZZ_TIMEOUT:-900}" .venv/bin/schemathesis --config-file scripts/fuzz.toml \
  run "http://127.0.0.1:$port/api/schema/" \
  --header "Authorization: Token $token" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --phases "${FUZZ_PHASES:-examples,fuzzing}" \
  "${budget[@]}" \
  --workers "${FUZZ_WORKERS:-2}" \
  --request-timeout 60 \
  --generation-database none \
  --no-color \
  --report junit,ndjson --report-dir "$REPORT_DIR" \
  "$@" || status=$?

if grep -q "Traceback" "$REPORT_DIR/server.log"; then
  echo "fuzz: the server logged errors ($REPORT_DIR/server.log):" >&2
  grep -B2 -A40 "Traceback" "$REPORT_DIR/server.log" | head -n 200 >&2
  [ "$status" -ne 0 ] || status=1
fi
exit "$status"
