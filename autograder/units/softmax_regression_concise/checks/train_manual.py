"""The checks of train_manual(W, b, train_iter, num_epochs, lr): minibatch SGD with the closed-form
gradient and no autograd, from d2l's initialisation; its first epoch compared with the grader's own
run, its accuracy after config.NUM_EPOCHS measured by the grader on the hidden test images."""

from __future__ import annotations

from autograder import config
from autograder.checks.registry import Check
from autograder.i18n import N_, _, ngettext
from autograder.units.softmax_regression_concise import calls, references, unit
from autograder.units.softmax_regression_concise.checks.common import (
    accuracy_tiers,
    failed_call,
    forbidden_result,
    report,
    result,
    worker_error,
)

FN = "train_manual"

STEP_HINT = N_(
    "on every minibatch X, y of train_iter: dW, db = softmax_ce_grad(X.reshape(-1, 784), y, W, b), "
    "then W -= lr * dW and b -= lr * db; return W, b after num_epochs epochs"
)


def _run(caller, cid, mode):
    """(the run of `mode`, None) or (None, the failed result): an error, or autograd recorded."""
    run = caller.train(mode)
    used = sorted(op for op in run.get("ops") or [] if op in unit.FORBIDDEN_OPS[FN])
    if used:
        return None, forbidden_result(cid, FN, used)
    if not run.get("ok"):
        res = failed_call(cid, FN, run)
        if res.status == "failed" and run.get("error"):
            res.message = _("{function} did not finish: {error}").format(
                function=FN, error=worker_error(run.get("error"))
            )
        return None, res
    return run, None


def passes_hint(passes, epochs):
    """What a run with the wrong number of passes over train_iter did."""
    return ngettext(
        "train_manual made {passes} pass over train_iter for num_epochs = {epochs}: one pass per epoch",
        "train_manual made {passes} passes over train_iter for num_epochs = {epochs}: one pass per epoch",
        passes,
    ).format(passes=passes, epochs=epochs)


def what_run(epochs):
    return _("train_manual(W, b, train_iter, num_epochs={epochs}, lr={lr}) from d2l's "
             "initialisation (normal, std 0.01, seed {seed}; b = 0), batch {batch}").format(
        epochs=epochs, lr=config.LR, seed=config.SEED, batch=config.BATCH_SIZE)  # fmt: skip


def train_manual_updates(caller):
    """After one epoch, W and b equal the grader's own closed-form SGD run from the same start
    over the same batches (config-set tolerance: unit.MANUAL_TRAJECTORY_RTOL)."""
    cid = f"{FN}.updates"
    run, fail = _run(caller, cid, "manual_epoch")
    if fail:
        return fail
    epochs, bpe = run["epochs"], run["batches_per_epoch"]
    what = what_run(epochs)
    ref = references.sgd_run("manual_epoch")
    gap = references.relative_difference([run["W"], run["b"]], [ref["W"], ref["b"]])
    if gap <= unit.MANUAL_TRAJECTORY_RTOL:
        return result(cid, True)
    start = calls.initial_parameters("cpu", config.SEED)
    if run["train_batches"] == 0:
        hint = _("train_manual never took a minibatch from train_iter: loop `for X, y in train_iter` "
                 "inside `for epoch in range(num_epochs)`")  # fmt: skip
    elif references.relative_difference([run["W"], run["b"]], list(start)) == 0:
        hint = _("W and b came back unchanged: update them on every minibatch (W -= lr * dW, or "
                 "W = W - lr * dW) and return the updated W, b")  # fmt: skip
    elif run["train_passes"] != epochs:
        hint = passes_hint(run["train_passes"], epochs)
    else:
        hint = _(STEP_HINT)
    size = _("differ by {gap} (relative)").format(
        gap="inf" if gap == float("inf") else f"{gap:.2%}"
    )
    return report(
        cid,
        what,
        _("after {epochs} epoch ({steps} updates), W and b of the grader's own run").format(
            epochs=epochs, steps=bpe * epochs
        ),
        size,
        hint,
    )


def train_manual_accuracy(caller):
    """After config.NUM_EPOCHS epochs, the returned W, b classify the hidden test images at least as
    well as config.ACCURACY_TIERS asks (the grader measures it; the code's own figures don't count)."""
    cid = f"{FN}.accuracy"
    run, fail = _run(caller, cid, "manual")
    if fail:
        return fail
    epochs = run["epochs"]
    hint = _("the parameters barely learned: does train_manual update W and b on every minibatch "
             "for num_epochs epochs with lr, and return them?")  # fmt: skip
    if run["train_passes"] != epochs:
        hint = passes_hint(run["train_passes"], epochs)
    return accuracy_tiers(cid, run["test_accuracy"], what_run(epochs), hint)


CHECKS = [
    Check(f"{FN}.updates", train_manual_updates,
          describe=N_("train_manual updates W and b once per minibatch by W -= lr * dW and "
                      "b -= lr * db with the gradients of softmax_ce_grad, and returns them"),
          public=True, needs=("softmax_ce_grad",), trains=True),
    Check(f"{FN}.accuracy", train_manual_accuracy,
          describe=N_("train_manual trains the grader's W and b for {epochs} epochs to a test "
                      "accuracy of at least {full} on the grader's hidden test images (at least "
                      "{half}: {half_share} of the points)"),
          public=True, needs=("softmax_ce_grad",), trains=True, early_run="manual"),
]  # fmt: skip
"""This function's checks, in grading order (autograder/checks/registry.py)."""
