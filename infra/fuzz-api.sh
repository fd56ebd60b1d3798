#!/usr/bin/env bash
# Fuzzes the whole HTTP API from its OpenAPI document with schemathesis, as a signed-in user,
# against a fresh local stack (examples, coverage, fuzzing and stateful phases). By default it
# fails on a 5xx, an undeclared status, a response that breaks its schema or declared headers, an
# endpoint that ignores its auth, and a deleted thing still answering (what CI runs); CHECKS=all
# adds the opinions (e.g. "a schema-valid request must be accepted"), which business rules break.
# Usage: infra/fuzz-api.sh [max-examples]
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE="${PETPLATFORM_CACHE:-$HOME/.cache/petplatform}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$CACHE/target}"
VENV="$CACHE/venv"
[ -x "$VENV/bin/st" ] || { python3 -m venv "$VENV"; "$VENV/bin/pip" install --quiet schemathesis; }
data=$(mktemp -d)
cargo build --quiet -p local-stack --bin local-stack
setsid "$CARGO_TARGET_DIR/debug/local-stack" --data-dir "$data/data" --port "${PORT:-3000}" \
  --env WRITE_RATE_LIMIT_PER_MINUTE=100000 >"$data/stack.log" 2>&1 &
stack=$!
trap 'kill -- -$stack 2>/dev/null || true; rm -rf "$data"' EXIT
api="http://127.0.0.1:${PORT:-3000}"
for _ in $(seq 1 100); do curl -sf "$api/health" >/dev/null && break; sleep 0.2; done
json() { curl -sf -X POST "$api$1" -H 'content-type: application/json' -d "$2"; }
json /auth/signup '{"email":"fuzz@example.com","password":"walks4ever","name":"Fuzz","nickname":"fuzzer"}' >/dev/null
sleep 1
code=$(curl -sf "$api/_local/mail?to=fuzz@example.com" | python3 -c 'import json,sys,re; print(re.search(r"(\d{6})", json.load(sys.stdin)[0]["text"]).group(1))')
json /auth/email/verify "{\"email\":\"fuzz@example.com\",\"code\":\"$code\"}" >/dev/null
token=$(json /auth/login '{"email":"fuzz@example.com","password":"walks4ever"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["accessToken"])')
# Withdrawal and password change would end the fuzzing session itself.
"$VENV/bin/st" run "$api/openapi.json" --checks "${CHECKS:-not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance,ignored_auth,use_after_free,unsupported_method}" -H "Authorization: Bearer $token" \
  --max-examples "${1:-50}" ${ST_ARGS:-} --exclude-path-regex '^/users/me(/password)?$'
