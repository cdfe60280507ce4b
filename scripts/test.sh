#!/usr/bin/env bash
# Set up the environment (if needed) and run the whole test suite: lint, then pytest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/bootstrap.sh"
cd "$ROOT"
# Headless Chromium renders the class report in tests/test_report.py: install it when missing (root + apt).
command -v chromium >/dev/null 2>&1 || { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || true; }
ruff check .
ruff format --check .
python -m pytest "$@"
