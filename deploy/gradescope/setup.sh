#!/usr/bin/env bash
# Gradescope runs this once, as root, in /autograder/source when it builds the autograder image
# (bundled by `python -m autograder gradescope build`). It installs the pinned environment into
# /autograder/venv and makes sure Fashion-MNIST is there.
#
# Torch build: SOFTMAX_TORCH_BUILD=cpu (the default here, since Gradescope has no GPU) installs
# course/requirements-cpu.lock: requirements.lock with torch/torchvision pinned to PyTorch's
# CPU-only wheels (+cpu, from https://download.pytorch.org/whl/cpu) and no nvidia-* packages
# (about 0.9 GB instead of about 5 GB). SOFTMAX_TORCH_BUILD=cuda installs requirements.lock as is.
set -euo pipefail
SOURCE="${SOFTMAX_SOURCE:-/autograder/source}"
VENV="${SOFTMAX_VENV:-/autograder/venv}"
BUILD="${SOFTMAX_TORCH_BUILD:-cpu}"

# The first candidate that runs and is 3.11 or newer (as scripts/bootstrap.sh does): a name on PATH
# may be a broken shim (pyenv's exits 127 for a version it does not have).
pick_python() {
  for py in python3.13 python3.12 python3.11; do
    if command -v "$py" >/dev/null 2>&1 &&
      "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; then
      command -v "$py"
      return 0
    fi
  done
  return 1
}
if ! PY="$(pick_python)"; then
  # Gradescope's Ubuntu 22.04 base image ships Python 3.10; 3.11 is in Ubuntu's own archive.
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3.11 python3.11-venv
  PY="$(pick_python)" || { echo "setup.sh: no working Python 3.11 or newer, even after apt-get install python3.11" >&2; exit 1; }
fi
"$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install --isolated --quiet --disable-pip-version-check uv
if [ "$BUILD" = cpu ]; then
  "$VENV/bin/uv" pip install --python "$VENV/bin/python" -r "$SOURCE/course/requirements-cpu.lock" \
    --index-url https://download.pytorch.org/whl/cpu --extra-index-url https://pypi.org/simple \
    --index-strategy unsafe-best-match
else
  "$VENV/bin/uv" pip install --python "$VENV/bin/python" -r "$SOURCE/course/requirements.lock"
fi
"$VENV/bin/uv" pip install --python "$VENV/bin/python" --no-deps -e "$SOURCE/course"

if [ ! -f "$SOURCE/data/train-images-idx3-ubyte.gz" ]; then
  # Not bundled (gradescope build --no-data): torchvision downloads into data/FashionMNIST/raw/.
  "$VENV/bin/python" -c "import sys, torchvision; torchvision.datasets.FashionMNIST(sys.argv[1], download=True)" "$SOURCE/data"
fi
cd "$SOURCE/course"
# The data read once, and the grader's reference runs computed once into the image (source/cache,
# which run_autograder points SOFTMAX_CACHE at): no submission trains them again.
SOFTMAX_CACHE="$SOURCE/cache" FASHION_MNIST_ROOT="$SOURCE/data" MPLBACKEND=Agg "$VENV/bin/python" -c \
  "import autograder.grading.grader; from autograder import units; [getattr(u.data, 'arrays_cpu', list)() for u in units.every()]; [u.references.sgd_run(m) for u in units.every() for m in u.reference_runs]; print('setup.sh: grader, data and reference runs ready')"
