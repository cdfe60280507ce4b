"""The tiny unit's checks: double(x) == 2x, and x left unchanged."""

from __future__ import annotations

import torch

from autograder.checks.registry import Check, Registry
from autograder.units.softmax_regression.checks.common import (
    _call,
    changed_arguments,
    report,
    result,
)

from .. import unit

X = torch.tensor([[1.0, -2.0], [0.5, 3.0]])


def double_values(caller):
    """double(X) equals 2X."""
    reply, failed = _call(caller, "double.values", "double", [X.clone()])
    if failed:
        return failed
    got = reply["value"]
    if type(got) is torch.Tensor and got.shape == X.shape and torch.equal(got, 2 * X):
        return result("double.values", True)
    return report("double.values", "X = [[1, -2], [0.5, 3]]", "2 * X", got, "multiply by 2")


def double_not_in_place(caller):
    """double leaves its argument as it was."""
    sent = X.clone()
    reply, failed = _call(caller, "double.not_in_place", "double", [sent])
    if failed:
        return failed
    if changed_arguments([X], reply):
        return report("double.not_in_place", "X", "X unchanged", "X changed", "return a new tensor")
    return result("double.not_in_place", True)


REGISTRY = Registry(
    [
        Check("double.values", double_values, public=True, describe="double(X) equals 2 * X"),
        Check("double.not_in_place", double_not_in_place, describe="double leaves X unchanged"),
    ],
    unit.POINTS,
)
