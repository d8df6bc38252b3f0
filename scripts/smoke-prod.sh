#!/usr/bin/env bash
# Smoke test of the compiled server, the way production runs it: `npm run start:prod`
# (node dist/src/main.js, NODE_ENV=production) against a fresh PostgreSQL database that this
# script creates and drops. It waits for /readyz, runs one authenticated GraphQL query, checks
# that / redirects to GraphiQL and that the bundle is served, then sends SIGTERM and expects exit 0.
#
#   npm run build && bash scripts/smoke-prod.sh      (also run by .ci/run)
#
# Settings: SMOKE_PG_ADMIN_URL (default postgres://postgres@127.0.0.1:5432/postgres), SMOKE_PORT
# (default: a free port), SMOKE_TIMEOUT_SECONDS (default 60), SMOKE_DUIS_SCHEMA_DIR (default
# ../shared/reference/duis; when it holds the XSDs, POST /duis schema validation is checked too).
set -euo pipefail
cd "$(dirname "$0")/.."

ADMIN_URL="${SMOKE_PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
TIMEOUT="${SMOKE_TIMEOUT_SECONDS:-60}"
DB="poa_smoke_$(date +%s)_$$"
DB_URL="${ADMIN_URL%/*}/${DB}"
PORT="${SMOKE_PORT:-$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')}"
BASE="http://127.0.0.1:${PORT}"
LOG="$(mktemp -t poa-smoke.XXXXXX.log)"
SERVER_PID=""

fail() {
  echo "smoke: FAIL: $*" >&2
  echo "---- server log (${LOG}) ----" >&2
  tail -n 40 "$LOG" >&2 || true
  exit 1
}

cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  psql "$ADMIN_URL" -qAt -c "DROP DATABASE IF EXISTS \"${DB}\" WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT

[ -f dist/src/main.js ] || fail "dist/src/main.js is missing: run npm run build first"
[ -f dist/graphiql/graphiql.js ] || fail "dist/graphiql is missing: run npm run build first"

psql "$ADMIN_URL" -qAt -c "CREATE DATABASE \"${DB}\"" >/dev/null || fail "cannot create database ${DB} at ${ADMIN_URL}"
echo "smoke: database ${DB} created"

# A throwaway secret for this run only.
SECRET="$(node -e 'console.log(require("crypto").randomBytes(32).toString("hex"))')"
export NODE_ENV=production DATABASE_URL="$DB_URL" AUTH_JWT_SECRET="$SECRET" HOST=127.0.0.1 PORT="$PORT"
SCHEMAS="${SMOKE_DUIS_SCHEMA_DIR:-../shared/reference/duis}"
if [ -f "${SCHEMAS}/DUIS_Schema_V5.4.xsd" ]; then export DUIS_SCHEMA_DIR="$SCHEMAS"; fi

# Started directly (not through npm) so that SIGTERM reaches the server and its exit code is ours.
node dist/src/main.js >"$LOG" 2>&1 &
SERVER_PID=$!
echo "smoke: node dist/src/main.js started (pid ${SERVER_PID}, port ${PORT})"

ready=""
for _ in $(seq 1 $((TIMEOUT * 4))); do
  kill -0 "$SERVER_PID" 2>/dev/null || fail "the server exited before it was ready"
  if curl -fsS "${BASE}/readyz" >/dev/null 2>&1; then
    ready=yes
    break
  fi
  sleep 0.25
done
[ -n "$ready" ] || fail "GET /readyz not ready within ${TIMEOUT} s"
echo "smoke: GET /readyz -> $(curl -fsS "${BASE}/readyz")"

TOKEN="$(npm run -s token -- --role OPERATOR --subject smoke-prod)"
ANSWER="$(curl -sS -X POST "${BASE}/graphql" \
  -H 'content-type: application/json' -H "authorization: Bearer ${TOKEN}" \
  --data '{"query":"{ networkOperators { distributorId } }"}')"
echo "smoke: networkOperators -> ${ANSWER:0:200}"
case "$ANSWER" in
  *'"networkOperators":['*'"distributorId"'*) ;;
  *) fail "unexpected GraphQL answer: ${ANSWER}" ;;
esac
case "$ANSWER" in *'"errors"'*) fail "the query answered with errors: ${ANSWER}" ;; esac

if [ -n "${DUIS_SCHEMA_DIR:-}" ]; then
  # A document that breaks the XSD: refused by the compiled-once validator, nothing written.
  DUIS="$(sed 's|<sr:MPxN>|<sr:Unexpected>1</sr:Unexpected><sr:MPxN>|' test/fixtures/duis/ad1-power-outage.xml |
    curl -sS -X POST "${BASE}/duis" -H 'content-type: application/xml' -H "authorization: Bearer ${TOKEN}" \
      --data-binary @- -w ' HTTP %{http_code}')"
  echo "smoke: POST /duis (schema-invalid) -> ${DUIS:0:160}"
  case "$DUIS" in
    *'"SCHEMA_INVALID"'*' HTTP 400') ;;
    *) fail "POST /duis did not refuse a schema-invalid document with 400 SCHEMA_INVALID: ${DUIS}" ;;
  esac
else
  echo "smoke: no DUIS schemas at ${SCHEMAS}: POST /duis validation not checked"
fi

LOCATION="$(curl -sS -o /dev/null -w '%{http_code} %{redirect_url}' "${BASE}/")"
echo "smoke: GET / -> ${LOCATION}"
[ "${LOCATION%% *}" = 302 ] || fail "GET / did not redirect: ${LOCATION}"
for asset in /graphiql /graphiql/assets/graphiql.js; do
  status="$(curl -sS -o /dev/null -w '%{http_code}' "${BASE}${asset}")"
  echo "smoke: GET ${asset} -> ${status}"
  [ "$status" = 200 ] || fail "GET ${asset} answered ${status}"
done

kill -TERM "$SERVER_PID"
code=0
wait "$SERVER_PID" || code=$?
SERVER_PID=""
[ "$code" = 0 ] || fail "the server exited ${code} after SIGTERM (expected 0)"
echo "smoke: SIGTERM -> exit 0"
rm -f "$LOG"
echo "smoke: OK"
