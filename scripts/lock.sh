#!/usr/bin/env bash
# Regenerate requirements.lock (exact pins for Linux x86-64, CPython 3.11+) from requirements.in.
set -euo pipefail
cd "$(dirname "$0")/.."
# rfc3987-syntax (and its lark) are left out: jsonschema imports them only if present, to check
# the "iri" format, and building their grammars took 2.3 s in every process that imports nbformat
# (each nbgrader step, each pytest process). bootstrap.sh installs the lock with --no-deps.
uv pip compile --quiet --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
  --no-emit-package rfc3987-syntax --no-emit-package lark \
  --no-header --output-file requirements.lock requirements.in
sed -i '1i # Generated from requirements.in by scripts/lock.sh; do not edit by hand.' requirements.lock
