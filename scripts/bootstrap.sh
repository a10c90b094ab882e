#!/usr/bin/env bash
# Installs what the demo and the tests need on a fresh machine, once: a Python
# virtualenv in .venv with moto (DynamoDB + Secrets Manager), cargo-lambda
# (with zig, for `cargo lambda build`) and cfn-lint. Re-running is cheap.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
stamp="$venv/.rmmsync-tools-v1"
if [ ! -f "$stamp" ]; then
  echo "==> setting up $venv (moto, cargo-lambda, cfn-lint); takes about a minute the first time" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --upgrade pip
  "$venv/bin/pip" install --quiet "moto[server]>=5.1,<6" "cargo-lambda>=1.8,<2" "ziglang" "cfn-lint>=1.5,<2"
  touch "$stamp"
fi
