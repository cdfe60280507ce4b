#!/usr/bin/env bash
# Set up the environment (if needed), grade the bundled example class and print its table.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/bootstrap.sh"
cd "$ROOT"
# Use the course's shared copy of Fashion-MNIST when it sits beside the repository (course machines);
# otherwise torchvision downloads it into the cache folder (see README, "Data").
if [ -z "${FASHION_MNIST_ROOT:-}" ] && [ -d "$ROOT/../shared/data/fashion-mnist" ]; then
  export FASHION_MNIST_ROOT="$ROOT/../shared/data/fashion-mnist"
fi
python -m autograder grade examples/submitted --out grading-output/example-class "$@"
