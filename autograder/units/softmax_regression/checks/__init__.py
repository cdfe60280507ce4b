"""The checks of softmax regression, split by graded function; REGISTRY declares each once.

A check receives a *caller* (student code behind it: a worker process, or the notebook kernel),
builds its inputs, computes the reference itself, and returns a CheckResult whose message says
what input, what was expected, what came back, and a hint. Checks never raise for student errors.
Each module (softmax, cross_entropy, accuracy, train_ch3) lists its own CHECKS; common.py holds
what they share. The names are re-exported here for callers that read `checks.<name>`.
"""

from __future__ import annotations

from autograder.checks.registry import Registry
from autograder.units.softmax_regression import unit
from autograder.units.softmax_regression.checks import (
    accuracy,
    common,
    cross_entropy,
    softmax,
    train_ch3,
)
from autograder.units.softmax_regression.checks.accuracy import (  # noqa: F401 - re-exported
    _count,
    accuracy_labels,
    accuracy_not_in_place,
    accuracy_values,
)
from autograder.units.softmax_regression.checks.common import (  # noqa: F401 - re-exported
    BROADCAST_HINTS,
    D2L_Y,
    D2L_Y_HAT,
    NO_GRAD_HINT,
    SHAPES,
    _builtins_used,
    _call,
    _gen,
    _gradient_flows,
    _labels,
    _logits,
    _not_in_place,
    _probs,
    _round,
    _tensor_call,
    _tensor_or_fail,
    _within,
    changed_arguments,
    close,
    fmt,
    forbidden_ops,
    gradcheck_error,
    report,
    result,
)
from autograder.units.softmax_regression.checks.cross_entropy import (  # noqa: F401 - re-exported
    WRONG_CE_GRAD_HINT,
    cross_entropy_gradient,
    cross_entropy_model_gradient,
    cross_entropy_not_in_place,
    cross_entropy_shape,
    cross_entropy_underflow,
    cross_entropy_values,
)
from autograder.units.softmax_regression.checks.softmax import (  # noqa: F401 - re-exported
    _compare_softmax,
    _softmax_hint,
    softmax_dtype,
    softmax_gradient,
    softmax_not_in_place,
    softmax_overflow,
    softmax_shape,
    softmax_shift_invariance,
    softmax_stability,
    softmax_values,
)
from autograder.units.softmax_regression.checks.train_ch3 import (  # noqa: F401 - re-exported
    WHAT_RUN,
    _gap_text,
    _tiers,
    _train,
    train_ch3_accuracy,
    train_ch3_end_to_end,
    train_ch3_test_set,
    train_ch3_updates,
    trajectory_gap,
)

REGISTRY = Registry(
    [
        # Order matters: function checks first and training last, because the grader's model (with
        # the reference softmax) only enters the worker for the train_ch3-only run, after every
        # other call. public: the inputs are the notebook's own (shapes, in-place use, dtypes, d2l's
        # literal example for 1-D labels, the training's public hyperparameters), so the full
        # message is shown. needs: checks that also run other graded functions are skipped
        # (0 points) when those hung, crashed, are missing or forbidden, instead of waiting for the
        # same failure again. curve: training runs whose curves the feedback draws.
        *softmax.CHECKS,
        *cross_entropy.CHECKS,
        *accuracy.CHECKS,
        *train_ch3.CHECKS,
    ],
    unit.POINTS,
)
"""This unit's checks, each declared once (autograder/checks/registry.py)."""

CHECKS = REGISTRY.pairs
"""(id, function) in grading order."""

__all__ = ["REGISTRY", "CHECKS", "common", "softmax", "cross_entropy", "accuracy", "train_ch3"]
