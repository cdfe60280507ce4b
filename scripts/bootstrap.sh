#!/usr/bin/env bash
# Create or refresh the project's virtual environment from requirements.lock (idempotent, ~1 min cold).
#
# Usage: source scripts/bootstrap.sh   (or bash scripts/bootstrap.sh)
# The environment lives in $SOFTMAX_VENV, default <repo>/.venv. CI points SOFTMAX_VENV at a cache
# outside the clone so that torch is installed once per machine, not once per run.
# Sourced, it changes none of the caller's shell options: the work runs in a subshell with
# `set -euo pipefail`, and only PATH and VIRTUAL_ENV are set in the caller's shell.
_softmax_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_softmax_venv="${SOFTMAX_VENV:-$_softmax_root/.venv}"

(
  set -euo pipefail
  ROOT="$_softmax_root"
  VENV="$_softmax_venv"

  pick_python() {
    for py in python3.13 python3.12 python3.11 python3; do
      if command -v "$py" >/dev/null 2>&1 &&
        "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        command -v "$py"
        return 0
      fi
    done
    echo "bootstrap: Python 3.11 or newer is required (found none on PATH)" >&2
    return 1
  }

  want="$(cat "$ROOT/requirements.lock" "$ROOT/pyproject.toml" | sha256sum | cut -c1-16) $ROOT"
  have="$(cat "$VENV/.softmax-stamp" 2>/dev/null || true)"
  if [ "$want" != "$have" ]; then
    if [ ! -x "$VENV/bin/python" ]; then
      echo "bootstrap: creating virtual environment in $VENV" >&2
      "$(pick_python)" -m venv "$VENV"
    fi
    # uv resolves from PyPI and ignores machine-wide pip configuration (e.g. a CPU-only torch
    # folder that pip would prefer and with which torchvision cannot import).
    if [ ! -x "$VENV/bin/uv" ]; then
      "$VENV/bin/python" -m pip install --isolated --quiet --disable-pip-version-check uv
    fi
    echo "bootstrap: installing requirements.lock into $VENV (torch is large; first run takes a while)" >&2
    # --no-deps: the lock pins every package already, and leaves some out on purpose (scripts/lock.sh)
    "$VENV/bin/uv" pip install --quiet --no-deps --python "$VENV/bin/python" -r "$ROOT/requirements.lock"
    for left_out in $(sed -n '/excluded from the output/,$ s/^# \([A-Za-z0-9_.-]*\)$/\1/p' "$ROOT/requirements.lock"); do
      "$VENV/bin/uv" pip uninstall --quiet --python "$VENV/bin/python" "$left_out" 2>/dev/null || true
    done
    "$VENV/bin/uv" pip install --quiet --python "$VENV/bin/python" --no-deps -e "$ROOT"
    echo "$want" >"$VENV/.softmax-stamp"
  fi
  # Bytecode for every installed module, once per install: uv writes none, and where
  # PYTHONDONTWRITEBYTECODE is set (CI machines, containers) no import writes it either, so every
  # process (the grader, each nbgrader step and kernel) would compile torch's and Jupyter's sources
  # again: `import torch, nbgrader.apps, torchvision` took 15.6 s without it, 7.8 s with it.
  if [ "$want" != "$(cat "$VENV/.softmax-bytecode" 2>/dev/null || true)" ]; then
    echo "bootstrap: compiling the environment's bytecode (once per install)" >&2
    "$VENV/bin/python" -m compileall -q -j 0 "$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')" >/dev/null 2>&1 || true
    echo "$want" >"$VENV/.softmax-bytecode"
  fi
  # The confined Jupyter kernel softmax-confined (autograder/sandbox/kernel.py) in the venv's
  # share/jupyter/kernels: after a (re)install, or when missing. Idempotent.
  if [ "$want" != "$have" ] || [ ! -f "$VENV/share/jupyter/kernels/softmax-confined/kernel.json" ]; then
    "$VENV/bin/python" -m autograder.sandbox.kernel install >/dev/null
  fi
) || { echo "bootstrap: setting up $_softmax_venv failed" >&2; unset _softmax_root _softmax_venv; return 1 2>/dev/null || exit 1; }
# A CJK font for the Chinese edition's plots and pages (#13): installed with apt-get when missing and
# root or passwordless sudo is at hand; otherwise one line says what to install. Never fails bootstrap.
(
  has_cjk_font() {
    if command -v fc-list >/dev/null 2>&1; then
      [ -n "$(fc-list :lang=zh family 2>/dev/null | head -n 1)" ]
    else
      find /usr/share/fonts /usr/local/share/fonts "$HOME/.local/share/fonts" /System/Library/Fonts /Library/Fonts \
        \( -iname '*CJK*' -o -iname 'wqy*' -o -iname 'PingFang*' -o -iname 'Hiragino*' \) -print -quit 2>/dev/null | grep -q .
    fi
  }
  has_cjk_font && exit 0
  as_root=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null && as_root="sudo -n"
  fi
  if command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" = 0 ] || [ -n "$as_root" ]; }; then
    echo "bootstrap: installing fonts-noto-cjk (Chinese plot labels and pages)" >&2
    { $as_root apt-get install -y -qq fonts-noto-cjk >/dev/null 2>&1 ||
      { $as_root apt-get update -qq >/dev/null 2>&1 && $as_root apt-get install -y -qq fonts-noto-cjk >/dev/null 2>&1; }; } &&
      has_cjk_font && exit 0
  fi
  echo "bootstrap: no Chinese (CJK) font: Chinese feedback plots fall back to English labels; install one, e.g. sudo apt-get install fonts-noto-cjk (Debian/Ubuntu), dnf install google-noto-sans-cjk-fonts (Fedora), brew install --cask font-noto-sans-cjk-sc (macOS)" >&2
) || true
export PATH="$_softmax_venv/bin:$PATH"
export VIRTUAL_ENV="$_softmax_venv"
unset _softmax_root _softmax_venv
