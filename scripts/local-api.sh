#!/usr/bin/env bash
# The local API server: every flow on axum served on 127.0.0.1, with moto
# (DynamoDB + Secrets Manager) and the Datto RMM, Autotask and ConnectWise
# simulators behind it, all on loopback. Requests name their caller with
# X-Dev-Tenant (and X-Dev-User, X-Dev-Roles) instead of a JWT:
#
#   curl -H 'X-Dev-Tenant: acme' "$URL/companies"
#
# The OpenAPI document is at $URL/openapi.json. Ctrl-C stops everything.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
./scripts/bootstrap.sh
echo "==> building the simulators and local-api" >&2
cargo build --quiet -p simulators -p rmmsync-tests --bin datto-rmm-sim --bin autotask-sim \
  --bin connectwise-sim --bin local-api
# shellcheck source=scripts/moto.sh
source scripts/moto.sh
# shellcheck source=scripts/stack.sh
source scripts/stack.sh
start_moto "$root"
start_stack "$root" "${CARGO_TARGET_DIR:-$root/target}/debug" rmmsync-local
cat <<MSG
==> simulators: Datto RMM $DATTO_SIM_URL (platform merlot, key SIMKEY0123456789),
    Autotask $AUTOTASK_SIM_URL, ConnectWise $CONNECTWISE_SIM_URL (company simco)
==> logs in .local/*.log
==> local API on $LOCAL_API_URL (OpenAPI: $LOCAL_API_URL/openapi.json)
    try: curl -H 'X-Dev-Tenant: acme' $LOCAL_API_URL/companies
    Ctrl-C stops everything.
MSG
echo "$LOCAL_API_URL"
# Until Ctrl-C, or until the server stops by itself.
wait "${STACK_PIDS[-1]}"
