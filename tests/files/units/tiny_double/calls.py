"""The tiny unit's harness: the first unit's generic execute_call; it has no training run."""

from __future__ import annotations

from autograder.units.softmax_regression.calls import execute_call

__all__ = ["execute_call", "run_training"]


def run_training(namespace, mode, data, device):
    """This unit trains nothing."""
    return {"ok": False, "status": "error", "error": f"no training run {mode!r} in this unit"}
