#!/usr/bin/env bash
# Runs all of rmmsync's checks: formatting, the SAM template lint, every
# unit and integration test (against moto and the simulators over HTTP),
# the contract test (schemathesis against the local API server, from
# docs/openapi.json) and clippy. Sets up what is missing first (scripts/bootstrap.sh).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
./scripts/bootstrap.sh
echo "==> moto's speed fixes change no answer" >&2
.venv/bin/python scripts/check_moto_patch.py
# shellcheck source=scripts/moto.sh
source scripts/moto.sh
start_moto "$root"

echo "==> cargo fmt --check" >&2
cargo fmt --all -- --check

echo "==> cfn-lint infra/template.yaml" >&2
AWS_DEFAULT_REGION=us-east-1 .venv/bin/cfn-lint infra/template.yaml

echo "==> cargo test" >&2
cargo test --workspace --all-targets

echo "==> contract test (schemathesis against the local API server)" >&2
./scripts/contract.sh

echo "==> cargo clippy" >&2
cargo clippy --workspace --all-targets -- -D warnings
echo "==> all checks passed" >&2
