"""The warm fork server that every worker is forked from: torch and Fashion-MNIST loaded once."""

from __future__ import annotations

import multiprocessing
import os
import threading

PRELOAD = ["autograder.sandbox.preload"]
"""Modules the fork server imports before it forks anyone (never imported by the grader itself)."""

_lock = threading.Lock()
_context = None


def context():
    """The multiprocessing context: a fork server that has run PRELOAD, or spawn where none exists."""
    global _context
    with _lock:
        if _context is None:
            if "forkserver" in multiprocessing.get_all_start_methods():
                os.environ.setdefault("MPLBACKEND", "Agg")
                _context = multiprocessing.get_context("forkserver")
                _context.set_forkserver_preload(PRELOAD)
            else:
                _context = multiprocessing.get_context("spawn")
    return _context


_env_lock = threading.Lock()


def ensure_running() -> None:
    """Start the fork server (once) with a minimal environment: no secret reaches a worker.

    A process's environment is fixed when it is executed (``/proc/<pid>/environ`` shows the
    original), so the fork server is launched while os.environ holds only the safe variables.
    """
    if context().get_start_method() != "forkserver":
        return
    from multiprocessing import forkserver

    from autograder.sandbox.policy import minimal_environment

    with _env_lock:
        saved = dict(os.environ)
        try:
            os.environ.clear()
            os.environ.update(minimal_environment(saved))
            forkserver.ensure_running()
        finally:
            os.environ.clear()
            os.environ.update(saved)


def start() -> None:
    """Launch the fork server and read the data in this process too, both in the background.

    Call it first thing: the fork server's imports (torch, torchvision, matplotlib) and data, this
    process's own ``import torch`` and its copy of the test set (the grader measures accuracy
    itself) then load side by side on two cores instead of one after another. Returns at once.
    """
    ensure_running()
    threading.Thread(target=_read_data, name="softmax-data", daemon=True).start()


def _read_data() -> None:
    from autograder.units.softmax_regression import data

    try:
        data.arrays_cpu()
    except Exception:  # noqa: BLE001 - the check that needs the data reports a missing data set
        pass
