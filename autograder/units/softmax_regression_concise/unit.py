"""The concise softmax-regression unit (d2l 3.7 / d2l-zh 3.7) and the gradient by hand: what it grades.

Students build d2l's ``nn.Sequential(nn.Flatten(), nn.Linear(784, 10))`` with its initialisation,
write the cross-entropy from logits through the LogSumExp trick, derive the gradient of the mean
loss in closed form (no autograd), train with it by hand, and train the concise model with
``nn.CrossEntropyLoss(reduction='none')`` and ``torch.optim.SGD``. Everything the machinery needs
to know about the unit is declared here and read through ``autograder.units.get(assignment)``
(docs/adding-a-unit.md); the course-wide numbers it shares with the first unit (epochs, learning
rate, batch size, seed, accuracy tiers, tolerances) stay in ``autograder/config.py``.
"""

from __future__ import annotations

import math

from autograder.i18n import N_

TITLE = N_("d2l concise softmax regression")
"""What the feedback page's subtitle calls the assignment."""

POINTS = {
    "net.structure": 2,
    "net.shapes": 2,
    "net.init": 2,
    "stable_cross_entropy.shape": 1,
    "stable_cross_entropy.values": 3,
    "stable_cross_entropy.stability": 3,
    "stable_cross_entropy.gradient": 2,
    "stable_cross_entropy.not_in_place": 1,
    "softmax_ce_grad.shapes": 2,
    "softmax_ce_grad.values": 4,
    "softmax_ce_grad.absent_class": 2,
    "softmax_ce_grad.no_autograd": 2,
    "train_manual.updates": 3,
    "train_manual.accuracy": 5,
    "training.loss": 2,
    "training.optimizer": 2,
    "training.accuracy": 2,
}
"""check id -> points (40); the registry (checks/__init__.py) declares exactly these checks."""

GRADED_FUNCTIONS = ("net", "stable_cross_entropy", "softmax_ce_grad", "train_manual", "training")
"""What students write, in grading order; each is also the grade_id of its solution cell ("net"
and "training" are cells that define objects, see SOLUTION_CELL_FUNCTIONS)."""

SOLUTION_CELL_FUNCTIONS = {"net": ("init_weights", "net"), "training": ("loss", "trainer")}
"""grade_id -> the names its solution cell defines, where they are not just the grade_id itself."""

MAIN_NOTEBOOK = "softmax_regression_concise.ipynb"
"""Notebook holding the graded code."""

QUIZ_NOTEBOOK: str | None = "quiz.ipynb"
"""Notebook holding the quiz answers."""

HELPERS = ("fashion_mnist.py", "animator.py")
"""Files of the release folder students get beside the notebooks (the notebook imports both)."""

SETUP_CALLS = frozenset({
    "apply", "normal_", "zero_", "zeros_", "ones_", "constant_", "fill_", "uniform_", "copy_",
    "xavier_normal_", "xavier_uniform_", "kaiming_normal_", "kaiming_uniform_", "manual_seed",
    "requires_grad_",
})  # fmt: skip
"""Top-level calls kept as definitions (not demos) when the worker defines a submission: the ones
that set up the model, ``net.apply(init_weights)``, ``init.normal_(net.linear.weight, std=0.01)``,
``net[1].bias.data.fill_(0)``, ``torch.manual_seed(0)``."""

STABLE_CE_OPS = (
    "aten::_softmax", "aten::_log_softmax", "aten::_safe_softmax", "aten::logsumexp",
    "aten::logcumsumexp", "aten::logaddexp", "aten::logaddexp2", "aten::nll_loss_forward",
    "aten::nll_loss2d_forward", "aten::nll_loss_nd", "aten::cross_entropy_loss",
    "aten::binary_cross_entropy", "aten::binary_cross_entropy_with_logits",
)  # fmt: skip
"""What the fused built-ins (log_softmax, logsumexp, F.cross_entropy, nll_loss) reach at torch's
dispatcher: stable_cross_entropy writes the LogSumExp trick itself."""

AUTOGRAD_MARKS = ("autograd::backward", "autograd::forward_ad")
"""What the recorder notes (calls.AutogradRecorder) when an operator runs inside autograd's
backward engine (``backward()``, ``torch.autograd.grad``, ``torch.func.grad``, ``jacobian``) or
under forward-mode AD (``torch.func.jacfwd``, ``forward_ad``): not kernel operators, but recorded
and judged as they are."""

FORBIDDEN_OPS = {
    "stable_cross_entropy": STABLE_CE_OPS,
    "softmax_ce_grad": AUTOGRAD_MARKS,
    "train_manual": AUTOGRAD_MARKS,
}
"""graded function -> what it may not reach at the dispatcher (sandbox dispatcher check)."""

AUTOGRAD_NAMES = (
    "backward", "autograd", "grad", "jacobian", "hessian", "jacrev", "jacfwd", "vjp", "jvp",
    "forward_ad", "make_dual", "functional_call",
)  # fmt: skip

FORBIDDEN_BUILTINS = {
    "stable_cross_entropy": (
        "log_softmax", "_log_softmax", "logsumexp", "logcumsumexp", "logaddexp", "logaddexp2",
        "softmax", "_softmax", "Softmax", "LogSoftmax", "cross_entropy", "nll_loss",
        "CrossEntropyLoss", "NLLLoss", "binary_cross_entropy",
    ),
    "softmax_ce_grad": AUTOGRAD_NAMES,
    "train_manual": AUTOGRAD_NAMES,
}  # fmt: skip
"""graded function -> names it may not use (as attribute, import or string): what it implements.
``.grad`` and ``backward`` are autograd's; a local variable called ``grad`` is not an attribute."""

DEMO_CALLS = frozenset({
    "train_ch3", "train_epoch_ch3", "predict_ch3", "evaluate_accuracy", "load_data_fashion_mnist",
    "show_images", "Animator", "train_manual", "train_concise",
})  # fmt: skip
"""Calls that make a top-level assignment of this unit's notebook a demo, not a definition
(``W, b = train_manual(...)`` trains: it must not run while the worker defines the submission)."""

OTHER_FUNCTIONS = {
    "train_manual.updates": N_("train_manual or softmax_ce_grad"),
    "train_manual.accuracy": N_("train_manual or softmax_ce_grad"),
    "training.optimizer": N_("net or trainer"),
    "training.accuracy": N_("net, loss or trainer"),
}
"""Checks that call more than their own function: who a not-implemented hint names."""

ACCURACY_CHECKS = ("train_manual.accuracy", "training.accuracy")
"""Checks whose run's test accuracy (measured by the grader) the report and Gradescope show."""

REFERENCE_RUNS = ("manual_epoch",)
"""Training modes whose reference run (references.sgd_run) the fork server computes ahead."""

TRAINING_LABEL = N_("training with train_manual, or net, loss and trainer")
"""What a worker is said to be doing while it trains (timeouts, memory)."""

# -- this unit's numbers (the shared ones are in autograder/config.py) -----------------------
NUM_INPUTS, NUM_OUTPUTS = 784, 10
"""Pixels of a flattened 28 x 28 image and Fashion-MNIST's classes."""

PARAMETER_SHAPES = {"W": (NUM_INPUTS, NUM_OUTPUTS), "b": (NUM_OUTPUTS,)}
"""What every training run leaves for the grader to measure (calls.run_training): W (784, 10) and
b (10,), the net's affine map in d2l's from-scratch orientation, whatever the net's own layout."""

MEASURED_MODES = ("manual", "concise")
"""Training modes whose parameters the grader measures on the hidden test images."""

MANUAL_TRAJECTORY_EPOCHS = 1
"""Epochs of the train_manual run whose parameters are compared with the grader's own run."""

MANUAL_TRAJECTORY_RTOL = 2e-3
"""Largest relative difference max|P - P_ref| / max|P_ref| after that epoch between the student's
and the grader's closed-form SGD (float32 in another summation order stays below 1e-4; a missing
1/n, a summed bias gradient or a wrong learning rate differ by far more)."""

INIT_STD = 0.01
"""d2l's weight initialisation: normal with mean 0 and standard deviation 0.01."""

INIT_STD_RTOL = 0.1
"""Relative tolerance of the weight's sample standard deviation (7840 draws: its relative standard
error is 1/sqrt(2 * 7840) = 0.8%; nn.Linear's default init gives 0.0206, xavier_normal_ 0.05)."""

INIT_MEAN_SIGMAS = 5.0
"""The weight's sample mean may be off 0 by this many standard errors (0.01 / sqrt(7840))."""

INIT_NORMAL_WITHIN_ONE_STD = (0.6827, 0.03)
"""(share of normal draws within one standard deviation of the mean, tolerance): 57.7% for a
uniform distribution; the standard error over 7840 draws is 0.005."""

BIAS_BOUND = 1 / math.sqrt(NUM_INPUTS)
"""Largest |bias| accepted at initialisation: 0 as ShusenTang's init.constant_, or nn.Linear's own
uniform(-1/sqrt(784), 1/sqrt(784)), which d2l's init_weights leaves in place (it sets the weight
only)."""

AFFINE_RTOL = 1e-4
"""Tolerance of the affinity test of net, relative to the largest output (float32 rounding)."""

OPTIMIZER_STEPS = 2
"""Optimizer steps the grader takes with given gradients: the second tells plain SGD from momentum."""
