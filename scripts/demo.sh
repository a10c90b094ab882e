#!/usr/bin/env bash
# The demo: the whole local stack (moto, the Datto RMM simulator, the Lambda
# functions under `cargo lambda watch`) and a walk through connecting a
# Datto RMM account, syncing it, quick-matching its sites, mapping a device
# type, importing its devices and listing the assets, connecting Autotask and
# importing from it, and an alert's round trip (ticket, repeat note,
# completion resolving the alert), printing each request and answer.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
./scripts/bootstrap.sh
echo "==> building the functions and the simulator (a few minutes the first time)" >&2
cargo build --quiet -p integrations -p sync-api -p sync-worker -p companies -p site-mappings -p quick-match \
  -p device-types -p device-import -p device-import-worker -p assets -p psa-import -p psa-import-worker -p tickets -p operations -p simulators --bins
exec "$root/.venv/bin/python" "$root/scripts/demo.py" "$@"
