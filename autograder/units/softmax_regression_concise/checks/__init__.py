"""The checks of the concise softmax-regression unit, split by graded function; REGISTRY declares each once.

As in the first unit (autograder/units/softmax_regression/checks/), a check receives a caller
(student code behind it), builds its inputs, computes the reference itself and returns a
CheckResult whose message says what input, what was expected, what came back, and a hint.
"""

from __future__ import annotations

from autograder.checks.registry import Registry
from autograder.units.softmax_regression_concise import unit
from autograder.units.softmax_regression_concise.checks import (
    common,
    net,
    softmax_ce_grad,
    stable_cross_entropy,
    train_manual,
    training,
)

REGISTRY = Registry(
    [
        # Function checks first, training last (train_manual's runs use softmax_ce_grad; the
        # concise run trains the net whose initial state the net checks judge: the harness puts
        # the net back, and an early run happens in a worker of its own).
        *net.CHECKS,
        *stable_cross_entropy.CHECKS,
        *softmax_ce_grad.CHECKS,
        *train_manual.CHECKS,
        *training.CHECKS,
    ],
    unit.POINTS,
)
"""This unit's checks, each declared once (autograder/checks/registry.py)."""

CHECKS = REGISTRY.pairs
"""(id, function) in grading order."""

__all__ = ["REGISTRY", "CHECKS", "common", "net", "stable_cross_entropy", "softmax_ce_grad",
           "train_manual", "training"]  # fmt: skip
