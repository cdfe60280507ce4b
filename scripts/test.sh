#!/usr/bin/env bash
# Set up the environment (if needed) and run the whole test suite: lint, then pytest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/bootstrap.sh"
cd "$ROOT"
ruff check .
ruff format --check .
python -m pytest "$@"
