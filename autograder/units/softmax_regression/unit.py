"""The softmax-regression-from-scratch unit (d2l 3.6 / d2l-zh 3.6): what it grades and how.

Everything the machinery needs to know about this unit is declared here, and read through
``autograder.units.get(assignment)`` (docs/adding-a-unit.md); nothing outside this folder names
these functions or checks. The numbers its checks share with the
chapter (tolerances, epochs, tiers) are in ``autograder/config.py``.
"""

from __future__ import annotations

from autograder.i18n import N_

TITLE = N_("d2l softmax regression")
"""What the feedback page's subtitle calls the assignment."""

POINTS: dict[str, float] = {
    # softmax (10)
    "softmax.shape": 1,
    "softmax.values": 2,
    "softmax.shift_invariance": 1,
    "softmax.not_in_place": 1,
    "softmax.stability": 2,
    "softmax.gradient": 2,
    "softmax.dtype": 1,
    # cross_entropy (8)
    "cross_entropy.shape": 1,
    "cross_entropy.values": 2,
    "cross_entropy.not_in_place": 1,
    "cross_entropy.underflow": 2,
    "cross_entropy.gradient": 2,
    # the model assembled from the student's softmax and cross_entropy: gradient of the mean loss
    "cross_entropy.model_gradient": 2,
    # accuracy (4)
    "accuracy.values": 2,
    "accuracy.labels": 1,
    "accuracy.not_in_place": 1,
    # train_ch3 (10): judged with the grader's model, loss and updater, then end to end
    "train_ch3.updates": 2,
    "train_ch3.test_set": 1,
    "train_ch3.accuracy": 4,
    "train_ch3.end_to_end": 3,
}
"""check id -> points; a function's total is the sum of its checks. The registry
(checks/__init__.py) declares exactly these checks; the README's "Grading policy" table restates
them (tests/test_config.py)."""

GRADED_FUNCTIONS = ("softmax", "cross_entropy", "accuracy", "train_ch3")
"""Functions students write, in grading order; each is also the grade_id of its solution cell."""

SOLUTION_CELL_FUNCTIONS = {"train_ch3": ("train_epoch_ch3", "train_ch3")}
"""Functions that live in the solution cell of another grade_id (d2l defines both in one section)."""

MAIN_NOTEBOOK = "softmax_regression.ipynb"
"""Notebook holding the graded functions (softmax, cross_entropy, accuracy, train_ch3)."""

QUIZ_NOTEBOOK: str | None = "quiz.ipynb"
"""Notebook holding the auto-graded quiz answers and the manually graded free-text answers."""

HELPERS = ("fashion_mnist.py", "animator.py", "softmax_selfcheck.py")
"""Files of the release folder students get beside the notebooks (GitHub Classroom copies them)."""

FORBIDDEN_OPS = {
    "softmax": ("aten::_softmax", "aten::_log_softmax", "aten::_safe_softmax"),
    "cross_entropy": (
        "aten::_softmax", "aten::_log_softmax", "aten::_safe_softmax", "aten::nll_loss_forward",
        "aten::nll_loss2d_forward", "aten::nll_loss_nd", "aten::binary_cross_entropy",
    ),
}  # fmt: skip
"""Kernel-level operators a from-scratch function may not reach, however it names them
(``torch.softmax``, ``F.cross_entropy``, ``torch.ops.aten._softmax`` by a computed string...)."""

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

SELFCHECK_ABOUT = (
    "These are the checks whose inputs the notebook states (shapes, dtypes, in-place use, "
    "1-D labels) and d2l's overflow example, logits like [[1000, 1010, 1020]] (a practice "
    "check: it earns nothing); the grader also checks values, stability, gradients and "
    "training on inputs that are not shown here."
)
"""What the students' self-check (softmax_selfcheck.py, scripts/make_selfcheck.py) checks."""

SELFCHECK_REFERENCES = '''
class references:
    """Probabilities for the inputs, made with torch's own softmax (not a graded function's code)."""

    @staticmethod
    def softmax64(X):
        return torch.softmax(X.to(torch.float64), dim=1)

    @staticmethod
    def log_softmax64(X):
        return torch.log_softmax(X.to(torch.float64), dim=1)
'''
"""The self-check's stand-in for each ``references.<name>`` its public checks use (the
grader's references module is never shipped to students)."""
