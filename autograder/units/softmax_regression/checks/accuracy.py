"""The checks of accuracy(y_hat, y): the count of correct predictions, 1-D labels, in-place use."""

from __future__ import annotations

import math

import torch

from autograder.checks.registry import Check
from autograder.i18n import N_, _
from autograder.units.softmax_regression import references
from autograder.units.softmax_regression.checks.common import (
    D2L_Y,
    D2L_Y_HAT,
    _call,
    _labels,
    _not_in_place,
    _probs,
    fmt,
    report,
    result,
    shown,
)


def _count(caller, cid, y_hat, y):
    """Call accuracy; return (count or None, failed result or None)."""
    reply, fail = _call(caller, cid, "accuracy", [y_hat, y])
    if fail:
        return None, fail
    value = reply["value"]
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            return None, report(cid, f"y_hat {tuple(y_hat.shape)}, y {tuple(y.shape)}", _("one number"),
                                _("tensor of shape {shape}").format(shape=tuple(value.shape)),
                                _("compare predicted and true labels, then sum the matches to one number"))  # fmt: skip
        value = float(value.reshape(-1)[0])
    if not isinstance(value, (int, float)):
        return None, report(cid, f"y_hat {tuple(y_hat.shape)}, y {tuple(y.shape)}", _("one number"),
                            f"{type(value).__name__} {shown(value)}",
                            _("compare predicted and true labels, then sum the matches to one number"))  # fmt: skip
    too_big = isinstance(value, int) and abs(value) >= 2**1000  # float() would overflow
    return (math.inf if too_big else float(value)), None


def accuracy_values(caller):
    """Returns the NUMBER of correct predictions (d2l's example gives 1.0)."""
    cid = "accuracy.values"
    cases = [(torch.tensor(D2L_Y_HAT), torch.tensor(D2L_Y))]
    for n, q, s in ((8, 5, 1), (6, 6, 2), (50, 10, 3)):
        y_hat, y = _probs(n, q, seed=s), _labels(n, q, s)
        y[: n // 2] = y_hat[: n // 2].argmax(1)  # make about half of them right
        cases.append((y_hat, y))
    for y_hat, y in cases:
        got, fail = _count(caller, cid, y_hat, y)
        if fail:
            return fail
        want = references.accuracy(y_hat, y)
        if got != want:
            hint = _(
                "take the predicted class with y_hat.argmax(axis=1), compare with y, and count the matches"
            )
            if math.isclose(got, want / len(y), rel_tol=1e-6):
                hint = _(
                    "d2l's accuracy returns the number of correct predictions, not the fraction (evaluate_accuracy divides later)"
                )
            return report(
                cid, f"y_hat = {fmt(y_hat)}, y = {y.tolist()}", repr(want), shown(got), hint
            )
    return result(cid, True)


def accuracy_labels(caller):
    """Accepts 1-D predictions that are already labels (no argmax then)."""
    cid = "accuracy.labels"
    y_hat, y = torch.tensor([0, 2, 1, 1, 3]), torch.tensor([0, 1, 1, 1, 2])
    got, fail = _count(caller, cid, y_hat, y)
    if fail:
        return fail
    if got != 3.0:
        return report(cid, _("y_hat = {y_hat} (labels), y = {y}").format(y_hat=y_hat.tolist(), y=y.tolist()), "3.0", shown(got),
                      _("only take the argmax when y_hat has more than one column (len(y_hat.shape) > 1 and y_hat.shape[1] > 1)"))  # fmt: skip
    return result(cid, True)


def accuracy_not_in_place(caller):
    """accuracy leaves its inputs unchanged."""
    y_hat, y = _probs(6, 4, seed=13), _labels(6, 4, 13)
    return _not_in_place(caller, "accuracy.not_in_place", "accuracy", [y_hat, y])


CHECKS = [
    Check(
        "accuracy.values",
        accuracy_values,
        describe=N_(
            "accuracy(y_hat, y) returns the number of rows whose argmax equals the label, as a float"
        ),
    ),
    Check(
        "accuracy.labels",
        accuracy_labels,
        describe=N_("accuracy also accepts a 1-D y_hat of predicted labels"),
        public=True,
    ),
    Check(
        "accuracy.not_in_place",
        accuracy_not_in_place,
        describe=N_("accuracy leaves y_hat and y unchanged"),
        public=True,
    ),
]
"""This function's checks, in grading order (autograder/checks/registry.py)."""
