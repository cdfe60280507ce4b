"""The grader's own reference runs kept on disk between grading processes, keyed by all they depend on.

A unit's reference SGD runs (what its training checks compare a student's run with) take about a
second of CPU in every grading process: each ``grade``, each ``nbgrader autograde``, each
Gradescope container. ``cached`` computes one once per machine and key instead, and later
processes read it (milliseconds). The key is a SHA-256 of everything the run depends on: the
unit's package and training mode, every source file of the unit and of ``autograder/config.py``,
the versions of Python and torch, the CPU's instruction set as torch uses it, and what the unit
says identifies its data files (``extra``; None: the run is not cached). A file that cannot be
read is computed again; a folder that cannot be written (a read-only container) only costs the
time it saves. The runs are plain tensors, read with ``torch.load(weights_only=True)``.

Where: ``SOFTMAX_CACHE`` (a folder; empty or 0 turns the cache off), else
``$XDG_CACHE_HOME/softmax-autograder``, else ``~/.cache/softmax-autograder``; runs go into its
``references/`` folder. Student code never runs in the grading process that reads them, and the
workers, confined, can neither read nor write there.
"""

from __future__ import annotations

import hashlib
import os
import platform
import sys
import tempfile
from pathlib import Path

CACHE_ENV = "SOFTMAX_CACHE"
FORMAT = 1
"""Bumped when what a cached file holds changes."""


def cache_dir() -> Path | None:
    """The folder runs are cached in (None: caching is off)."""
    chosen = os.environ.get(CACHE_ENV)
    if chosen is not None:
        return None if chosen.strip() in ("", "0") else Path(chosen) / "references"
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "softmax-autograder" / "references"


def key(package: str, mode: str, extra) -> str:
    """The SHA-256 naming the run of `mode` of the unit `package` (autograder.units.NAME)."""
    import torch

    from autograder import config

    digest = hashlib.sha256()
    for part in (FORMAT, package, mode, sys.version_info[:2], torch.__version__,
                 torch.backends.cpu.get_cpu_capability(), platform.machine(), *extra):  # fmt: skip
        digest.update(repr(part).encode() + b"\0")
    folder = Path(sys.modules[package].__file__).parent
    sources = [("config.py", Path(config.__file__))]
    sources += [(str(p.relative_to(folder)), p) for p in sorted(folder.rglob("*.py"))]
    for name, path in sources:
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def cached(package: str, mode: str, compute, extra=None):
    """compute()'s run (a dict of tensors, lists and numbers), read from the cache when a process
    of this machine computed it before with the same key; computed and stored otherwise."""
    import torch

    folder = cache_dir()
    if folder is None or extra is None:
        return compute()
    path = folder / f"{mode}-{key(package, mode, extra)}.pt"
    try:
        return torch.load(path, weights_only=True)
    except Exception:  # noqa: BLE001 - missing, cut short or unreadable: computed again
        pass
    run = compute()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".partial", dir=folder)
        try:
            with os.fdopen(fd, "wb") as fh:
                torch.save(run, fh)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except OSError:
        pass  # a read-only home: every process computes its own
    return run
