"""The softmax-regression-from-scratch unit (d2l 3.6 / d2l-zh 3.6): what it grades and how.

Everything the machinery needs to know about this unit is declared here, and read through
``autograder.units.get(assignment)`` (docs/adding-a-unit.md); nothing outside this folder names
these functions or checks. The numbers of its checks (tolerances, epochs, tiers) are in
``autograder/config.py``, the course's one documented config.
"""

from __future__ import annotations

from autograder import config
from autograder.i18n import N_

TITLE = N_("d2l softmax regression")
"""What the feedback page's subtitle calls the assignment."""

POINTS = config.POINTS
"""check id -> points; the registry (checks/__init__.py) declares exactly these checks."""

GRADED_FUNCTIONS = config.GRADED_FUNCTIONS
"""Functions students write, in grading order; each is also the grade_id of its solution cell."""

SOLUTION_CELL_FUNCTIONS = config.SOLUTION_CELL_FUNCTIONS
"""Functions that live in the solution cell of another grade_id."""

MAIN_NOTEBOOK = config.MAIN_NOTEBOOK
"""Notebook holding the graded functions."""

QUIZ_NOTEBOOK: str | None = config.QUIZ_NOTEBOOK
"""Notebook holding the quiz answers (None: the unit has no quiz)."""

HELPERS = ("fashion_mnist.py", "animator.py", "softmax_selfcheck.py")
"""Files of the release folder students get beside the notebooks (GitHub Classroom copies them)."""

FORBIDDEN_OPS = config.FORBIDDEN_OPS
"""graded function -> kernel-level operators it may not reach (sandbox dispatcher check)."""

FORBIDDEN_BUILTINS = {
    "softmax": ("softmax", "log_softmax", "_softmax", "_log_softmax", "Softmax", "LogSoftmax", "softmin", "Softmin"),
    "cross_entropy": (
        "softmax", "log_softmax", "_softmax", "_log_softmax", "Softmax", "LogSoftmax",
        "cross_entropy", "nll_loss", "CrossEntropyLoss", "NLLLoss", "binary_cross_entropy",
    ),
}  # fmt: skip
"""graded function -> names it may not use (as attribute, import or string): what it implements."""

DEMO_CALLS = frozenset({
    "train_ch3", "train_epoch_ch3", "predict_ch3", "evaluate_accuracy", "load_data_fashion_mnist",
    "show_images", "Animator",
})  # fmt: skip
"""Calls that make a top-level assignment of this unit's notebook a demo, not a definition (the
machinery adds the generic ones: print, display, input...)."""

OTHER_FUNCTIONS = {
    "train_ch3.end_to_end": N_("softmax, cross_entropy, accuracy or train_ch3"),
}
"""Checks that call more than their own function: who a not-implemented hint names."""

ACCURACY_CHECKS = ("train_ch3.end_to_end", "train_ch3.accuracy")
"""Checks whose run's test accuracy (measured by the grader) the report and Gradescope show."""

REFERENCE_RUNS = ("grader_model", "end_to_end")
"""Training modes whose reference run (references.sgd_run) the fork server computes ahead, once
per grading process, beside the first worker."""

TRAINING_LABEL = N_("training with train_ch3")
"""What a worker is said to be doing while it trains (timeouts, memory)."""
