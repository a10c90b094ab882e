#!/usr/bin/env bash
# Installs what the demo and the tests need on a fresh machine, once: a Python
# virtualenv in .venv with moto (DynamoDB + Secrets Manager), cargo-lambda
# (with zig, for `cargo lambda build`), cfn-lint and schemathesis (the
# contract test). Re-running is cheap.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
# Bump the stamp when the list changes, so that existing venvs get the new tools.
stamp="$venv/.rmmsync-tools-v3"
if [ ! -f "$stamp" ]; then
  echo "==> setting up $venv (moto, cargo-lambda, cfn-lint, schemathesis, mcp); takes about a minute the first time" >&2
  python3 -m venv "$venv"
  # `python -m pip`, not bin/pip: a copied venv's scripts point at the original's python.
  "$venv/bin/python" -m pip install --quiet --upgrade pip
  "$venv/bin/python" -m pip install --quiet "moto[server]>=5.1,<6" "cargo-lambda>=1.8,<2" "ziglang" "cfn-lint>=1.5,<2" \
    "schemathesis>=4.32,<5" "mcp>=1.12,<2"
  touch "$stamp"
fi
