#!/usr/bin/env bash
# Regenerate requirements.lock (exact pins for Linux x86-64, CPython 3.11+) from requirements.in.
set -euo pipefail
cd "$(dirname "$0")/.."
uv pip compile --quiet --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
  --no-header --output-file requirements.lock requirements.in
sed -i '1i # Generated from requirements.in by scripts/lock.sh; do not edit by hand.' requirements.lock
