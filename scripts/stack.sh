# Sourced by local-api.sh and contract.sh: starts the three simulators and
# the local API server on loopback, each on a free port, and stops them when
# the calling script exits. Needs moto (scripts/moto.sh: RMMSYNC_MOTO_ENDPOINT)
# and the binaries built (`cargo build -p simulators -p rmmsync-tests --bins`).

STACK_PIDS=()

stop_stack() {
  local pid
  for pid in "${STACK_PIDS[@]}" ${MOTO_PID:+"$MOTO_PID"}; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${STACK_PIDS[@]}" ${MOTO_PID:+"$MOTO_PID"}; do
    wait "$pid" 2>/dev/null || true
  done
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_http NAME URL LOG: until URL answers (any status), or fail after 60 s.
wait_http() {
  python3 - "$1" "$2" "$3" <<'PY'
import sys, time, urllib.request, urllib.error
name, url, log = sys.argv[1:]
for _ in range(300):
    try:
        urllib.request.urlopen(url, timeout=1)
        sys.exit(0)
    except urllib.error.HTTPError:
        sys.exit(0)
    except Exception:
        time.sleep(0.2)
sys.exit(f"{name} did not answer {url} within 60 s; see {log}")
PY
}

# start_stack ROOT BIN_DIR TABLE: the simulators and local-api; exports LOCAL_API_URL.
start_stack() {
  local root="$1" bin="$2" table="$3" logs="$1/.local" datto_port at_port cw_port api_port
  mkdir -p "$logs"
  trap stop_stack EXIT
  trap 'exit 130' INT TERM

  datto_port="$(free_port)"
  "$bin/datto-rmm-sim" --port "$datto_port" --platform merlot --sites 25 --devices 400 --seed 7 \
    >"$logs/datto-rmm-sim.log" 2>&1 &
  STACK_PIDS+=($!)
  at_port="$(free_port)"
  "$bin/autotask-sim" --port "$at_port" --companies 40 --seed 7 >"$logs/autotask-sim.log" 2>&1 &
  STACK_PIDS+=($!)
  cw_port="$(free_port)"
  "$bin/connectwise-sim" --port "$cw_port" --seed 7 >"$logs/connectwise-sim.log" 2>&1 &
  STACK_PIDS+=($!)
  export DATTO_SIM_URL="http://127.0.0.1:$datto_port" AUTOTASK_SIM_URL="http://127.0.0.1:$at_port" \
    CONNECTWISE_SIM_URL="http://127.0.0.1:$cw_port"
  wait_http "datto-rmm-sim" "$DATTO_SIM_URL/_sim/info" "$logs/datto-rmm-sim.log"
  wait_http "autotask-sim" "$AUTOTASK_SIM_URL/_sim/info" "$logs/autotask-sim.log"
  wait_http "connectwise-sim" "$CONNECTWISE_SIM_URL/_sim/info" "$logs/connectwise-sim.log"

  api_port="$(free_port)"
  # The functions' settings, pointed at moto and the simulators; local-api creates the table.
  AWS_ENDPOINT_URL="$RMMSYNC_MOTO_ENDPOINT" AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
    AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 TABLE_NAME="$table" \
    SECRET_NAME_PREFIX="rmmsync-local" \
    DATTO_RMM_BASE_URL_TEMPLATE="$DATTO_SIM_URL/{platform}" DATTO_RMM_PROBE_OTHER_PLATFORMS=false \
    AUTOTASK_ZONE_URL="$AUTOTASK_SIM_URL/atservicesrest/v1.0/zoneInformation" AUTOTASK_REST_DOMAINS=127.0.0.1 \
    AUTOTASK_INTEGRATION_CODE=SIMINTEGRATIONCODE \
    CONNECTWISE_CLIENT_ID=00000000-0000-4000-8000-00000000c11d CONNECTWISE_ALLOW_HTTP=true \
    RUST_LOG="${RUST_LOG:-info}" \
    "$bin/local-api" --port "$api_port" >"$logs/local-api.log" 2>&1 &
  STACK_PIDS+=($!)
  export LOCAL_API_URL="http://127.0.0.1:$api_port"
  wait_http "local-api" "$LOCAL_API_URL/openapi.json" "$logs/local-api.log"
}
