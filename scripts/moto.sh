# Sourced by test.sh and demo.sh: starts moto's server (DynamoDB + Secrets
# Manager) on a free loopback port, exports RMMSYNC_MOTO_ENDPOINT, and stops
# it when the calling script exits.
start_moto() {
  local root="$1" port
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  mkdir -p "$root/.local"
  # scripts/moto_server.py: moto's own server, with queries that read only the
  # queried partition (moto otherwise sorts the whole table for each query).
  "$root/.venv/bin/python" "$root/scripts/moto_server.py" -H 127.0.0.1 -p "$port" >"$root/.local/moto.log" 2>&1 &
  MOTO_PID=$!
  trap 'kill "$MOTO_PID" 2>/dev/null || true' EXIT
  export RMMSYNC_MOTO_ENDPOINT="http://127.0.0.1:$port"
  python3 - "$RMMSYNC_MOTO_ENDPOINT" <<'PY'
import sys, time, urllib.request
url = sys.argv[1] + "/moto-api/"
for _ in range(150):
    try:
        urllib.request.urlopen(url, timeout=1)
        sys.exit(0)
    except Exception:
        time.sleep(0.2)
sys.exit("moto did not start within 30 s; see .local/moto.log")
PY
  echo "==> moto (DynamoDB, Secrets Manager) on $RMMSYNC_MOTO_ENDPOINT" >&2
}
