#!/usr/bin/env bash
# The contract test: schemathesis fuzzes the local API server (every flow
# on axum, scripts/stack.sh) from docs/openapi.json and fails on any 5xx,
# on any answer the document does not describe (status, content type,
# headers, body schema), on a 405 the edge should give, on a created
# resource that cannot be read back and on a deleted one that still can.
# The caller is X-Dev-Tenant: fuzz (the local server's stand-in for the
# JWT), so the checks about missing or ignored auth do not apply here.
# Bounded: CONTRACT_MAX_EXAMPLES test cases per operation and phase
# (default 25) and a wall clock of CONTRACT_TIMEOUT seconds (default 420);
# CONTRACT_SEED picks another sequence (default fixed, so CI is repeatable).
# test.sh runs it after cargo test (reusing moto and the debug build);
# alone it starts moto itself.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
./scripts/bootstrap.sh
bin="${CARGO_TARGET_DIR:-$root/target}/debug"
echo "==> contract: building the simulators and local-api (a no-op after cargo test)" >&2
cargo build --quiet -p simulators -p rmmsync-tests --bin datto-rmm-sim --bin autotask-sim \
  --bin connectwise-sim --bin local-api
if [ -z "${RMMSYNC_MOTO_ENDPOINT:-}" ]; then
  # shellcheck source=scripts/moto.sh
  source scripts/moto.sh
  start_moto "$root"
fi
# shellcheck source=scripts/stack.sh
source scripts/stack.sh
# A table of its own per run: the fuzzer's companies never meet anyone else's.
RUST_LOG="${RUST_LOG:-warn}" start_stack "$root" "$bin" "rmmsync-contract-$$-$(date +%s)"
echo "==> contract: schemathesis against $LOCAL_API_URL with docs/openapi.json" >&2

max_examples="${CONTRACT_MAX_EXAMPLES:-25}"
wall_clock="${CONTRACT_TIMEOUT:-420}"
# One worker: with two, CPython 3.11's ast.parse (hypothesis describing its
# filters) races and schemathesis sometimes errors out with "AST constructor
# recursion depth mismatch"; the server is not the bottleneck anyway.
started=$SECONDS
status=0
timeout --kill-after=10 "$wall_clock" "$root/.venv/bin/schemathesis" run docs/openapi.json \
  --url "$LOCAL_API_URL" \
  --header "X-Dev-Tenant: fuzz" --header "X-Dev-User: fuzz@rmmsync.example" --header "X-Dev-Roles: admin" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance,unsupported_method,use_after_free,ensure_resource_availability \
  --generation-with-security-parameters false \
  --max-examples "$max_examples" \
  --seed "${CONTRACT_SEED:-20261201}" \
  --generation-database none \
  --request-timeout 20 \
  --workers 1 \
  --report junit --report-dir "$root/.local/schemathesis" \
  --no-color || status=$?
elapsed=$((SECONDS - started))
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
  echo "==> contract: schemathesis did not finish within ${wall_clock} s (CONTRACT_TIMEOUT); failing" >&2
  exit 1
elif [ "$status" -ne 0 ]; then
  echo "==> contract: schemathesis found answers the document does not allow (${elapsed} s); local-api's log: .local/local-api.log" >&2
  exit "$status"
fi
echo "==> contract: passed in ${elapsed} s" >&2
