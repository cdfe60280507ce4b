"""The checks of train_ch3, run by the grader: the measured test accuracy counts, not what the code reports."""

from __future__ import annotations

import functools

from autograder import config
from autograder.checks.registry import Check, points_of
from autograder.i18n import N_, _, ngettext
from autograder.units.softmax_regression import references
from autograder.units.softmax_regression.calls import bounded
from autograder.units.softmax_regression.checks.common import (
    report,
    result,
    worker_error,
)


def _train(caller, cid, mode):
    run = caller.train(mode)
    if run.get("assert_stopped"):
        res = result(cid, False, _assert_stopped_text(run))
        res.status = "error"
        return None, res
    if not run.get("ok"):
        error = worker_error(run.get("error"))
        res = result(cid, False, _("train_ch3 did not finish: {error}").format(error=error))
        res.status = (
            run.get("status", "error")
            if run.get("status") in ("error", "missing", "memory", "forbidden")
            else "error"
        )
        return None, res
    return run, None


def _assert_stopped_text(run):
    """Why a run that an assert stopped before its last epoch fails (d2l-zh's asserts come after)."""
    return _(
        "train_ch3 did not finish: an assert stopped it after {done} of {epochs} epochs "
        "({assertion}).\nHint: asserts on the final loss and accuracies, like the three at the "
        "end of d2l-zh's train_ch3, belong after the training loop; an assert inside the loop or "
        "in train_epoch_ch3 stops the training before it is over."
    ).format(
        done=bounded(run.get("epochs_done", 0), 20),
        epochs=bounded(run.get("epochs"), 20),
        assertion=bounded(run["assert_stopped"]),
    )


def _failed_assert_text(run):
    """What happened when train_ch3 failed its own assert after the last epoch had finished."""
    return _(
        "Note: your train_ch3 ended with a failed assert ({assertion}) after the last of its "
        "{epochs} epochs. Training had finished, so the grader judged this run by what it "
        "measures itself, the trained parameters and the test accuracy, not by the assert. "
        "d2l-zh's asserts (train loss below 0.5, accuracies above 0.7) are written for its own "
        "full run: 10 epochs with cross_entropy; the grader's runs may be shorter or use "
        "another loss."
    ).format(assertion=bounded(run["failed_assert"]), epochs=bounded(run.get("epochs"), 20))


def _noting(mode):
    """Decorator of a check of the `mode` run: it adds _failed_assert_text to the result when
    train_ch3 failed its own assert after training (passed or not, the result says so)."""

    def wrap(check):
        @functools.wraps(check)
        def noted(caller):
            res = check(caller)
            run = caller.train(mode)
            if run.get("ok") and run.get("failed_assert"):
                note = _failed_assert_text(run)
                res.message = f"{res.message}\n{note}" if res.message else note
            return res

        return noted

    return wrap


def _tiers(cid, acc, what):
    points = points_of(cid)
    for threshold, fraction in config.ACCURACY_TIERS:
        if acc >= threshold:
            res = result(cid, fraction == 1.0, score=points * fraction, test_accuracy=acc)
            if fraction < 1.0:
                res.message = report(
                    cid,
                    what,
                    _("test accuracy >= {threshold}").format(threshold=config.ACCURACY_TIERS[0][0]),
                    _("{accuracy} (partial credit tier >= {threshold})").format(accuracy=f"{acc:.4f}", threshold=threshold),
                    _("check the training loop"),
                ).message  # fmt: skip
            return res
    res = report(cid, what, _("test accuracy >= {threshold} (measured by the grader)").format(threshold=config.ACCURACY_TIERS[0][0]), f"{acc:.4f}",
                 _("the parameters barely learned: does each batch compute the loss, backpropagate, and call the updater?"))  # fmt: skip
    res.details["test_accuracy"] = acc
    return res


WHAT_RUN = (
    f"{config.NUM_EPOCHS} epochs, lr {config.LR}, batch {config.BATCH_SIZE}, seed {config.SEED}"
)
"""The end-to-end run's settings in English (what_run() says them in the current language)."""


def what_run():
    """WHAT_RUN in the current language."""
    return _("{epochs} epochs, lr {lr}, batch {batch}, seed {seed}").format(
        epochs=config.NUM_EPOCHS, lr=config.LR, batch=config.BATCH_SIZE, seed=config.SEED
    )


def trajectory_gap(run, mode, steps):
    """(first step where the run leaves the grader's SGD run, its relative difference) or None."""
    ref = references.sgd_run(mode)["snapshots"]
    got = run.get("snapshots") or {}
    rtol = config.TRAJECTORY_RTOL if mode == "grader_model" else config.END_TO_END_RTOL
    for step in steps:
        theirs = got.get(str(step))
        if theirs is None:
            return step, float("inf")
        gap = references.relative_difference(theirs, ref[step])
        if not gap <= rtol:
            return step, gap
    return None


def _gap_text(step, gap, bpe):
    if step % bpe:
        where = _("after updater step {step}").format(step=step)
    else:
        where = _("after epoch {epoch}").format(epoch=step // bpe)
    if gap == float("inf"):
        size = _("no parameters recorded")
    else:
        size = _("differ by {gap} (relative)").format(gap=f"{gap:.2%}")
    return _("{where}: {size}").format(where=where, size=size)


@_noting("grader_model")
def train_ch3_updates(caller):
    """One updater step per training batch per epoch, zero_grad, and the first steps equal SGD's."""
    cid = "train_ch3.updates"
    run, fail = _train(caller, cid, "grader_model")
    if fail:
        return fail
    bpe, epochs = run["batches_per_epoch"], run["epochs"]
    want = epochs * bpe
    what = _("train_ch3 with the grader's model, loss and torch.optim.SGD updater, {epochs} epochs").format(epochs=epochs)  # fmt: skip
    if run["steps"] != want:
        return report(cid, what, _("{want} updater steps ({bpe} batches x {epochs} epochs)").format(want=want, bpe=bpe, epochs=epochs),
                      _("{steps} steps").format(steps=run["steps"]),
                      _("train_epoch_ch3 must call the updater once per minibatch of train_iter, for each of num_epochs epochs"))  # fmt: skip
    if run["zero_grads"] is not None and run["zero_grads"] < run["steps"]:
        return report(cid, what, _("updater.zero_grad() before every step"),
                      _("{calls} zero_grad calls for {steps} steps").format(calls=run["zero_grads"], steps=run["steps"]),
                      _("with a torch.optim optimizer call updater.zero_grad() before l.mean().backward(), or gradients accumulate"))  # fmt: skip
    if not run.get("loss_calls"):
        return report(cid, what, _("the loss passed to train_ch3 computed on every minibatch"), _("the loss was never called"),
                      _("compute l = loss(net(X), y) with the loss argument, not another loss"))  # fmt: skip
    if gap := trajectory_gap(run, "grader_model", config.TRAJECTORY_STEPS):
        return report(cid, what, _("the parameters of the grader's own SGD run"), _gap_text(*gap, bpe),
                      _("each step must be: y_hat = net(X); l = loss(y_hat, y); updater.zero_grad(); "
                        "l.mean().backward(); updater.step() (use net and loss as given)"))  # fmt: skip
    return result(cid, True)


@_noting("grader_model")
def train_ch3_test_set(caller):
    """Evaluates on test_iter once per epoch (not on the training set)."""
    cid = "train_ch3.test_set"
    run, fail = _train(caller, cid, "grader_model")
    if fail:
        return fail
    epochs, per = run["epochs"], run["test_batches_per_epoch"]
    if run["test_passes"] != epochs or run["test_batches"] != epochs * per:
        return report(cid, _("train_ch3 over {epochs} epochs").format(epochs=epochs),
                      _("{epochs} full passes over test_iter (one evaluation per epoch)").format(epochs=epochs),
                      _("{passes} passes, {batches} batches of test_iter").format(passes=run["test_passes"], batches=run["test_batches"]),
                      _("call evaluate_accuracy(net, test_iter) after each epoch's training"))  # fmt: skip
    return result(cid, True)


@_noting("grader_model")
def train_ch3_accuracy(caller):
    """With the grader's model and loss, every epoch ends where the grader's own SGD run does."""
    cid = "train_ch3.accuracy"
    run, fail = _train(caller, cid, "grader_model")
    if fail:
        return fail
    bpe, epochs = run["batches_per_epoch"], run["epochs"]
    what = _("train_ch3 with the grader's model, loss and updater, {epochs} epochs, lr {lr}, batch {batch}").format(
        epochs=epochs, lr=config.LR, batch=config.BATCH_SIZE)  # fmt: skip
    if gap := trajectory_gap(run, "grader_model", [bpe * (e + 1) for e in range(epochs)]):
        measured = _("test accuracy measured by the grader {accuracy}").format(
            accuracy=f"{run['test_accuracy']:.4f}"
        )
        res = report(cid, what, _("the parameters of the grader's own SGD run at the end of every epoch"),
                     _("{gap}; {measured}").format(gap=_gap_text(*gap, bpe), measured=measured),
                     _("train each epoch over all of train_iter with the given net, loss and updater; "
                       "do not re-initialise or change the parameters yourself"))  # fmt: skip
        res.details["test_accuracy"] = run["test_accuracy"]
        return res
    res = result(cid, True, test_accuracy=run["test_accuracy"])
    res.details.update(curve=run.get("curve", []), seconds=run.get("seconds"))
    return res


@_noting("end_to_end")
def train_ch3_end_to_end(caller):
    """End to end with the student's softmax, cross_entropy and train_ch3: d2l's SGD run, whose
    test accuracy the grader measures on test images the student's code never received."""
    cid = "train_ch3.end_to_end"
    what = _("your softmax, cross_entropy and train_ch3 with d2l's sgd updater, {run}").format(
        run=what_run()
    )
    run, fail = _train(caller, cid, "end_to_end")
    if fail:
        return fail
    bpe = run["batches_per_epoch"]
    if not run["steps"]:
        return report(cid, what, _("d2l's sgd updater called once per minibatch ({bpe} per epoch)").format(bpe=bpe), _("0 updater steps"),
                      _("train_epoch_ch3 must call updater(X.shape[0]) after l.sum().backward() on every minibatch"))  # fmt: skip
    if run.get("loss_calls", 0) < run["steps"]:
        return report(cid, what, _("your cross_entropy (the loss argument) computed on every minibatch"),
                      _("{calls} loss calls for {steps} updater steps").format(calls=run.get("loss_calls", 0), steps=run["steps"]),
                      _("train_epoch_ch3 must compute l = loss(net(X), y) with the loss it is given"))  # fmt: skip
    if gap := trajectory_gap(run, "end_to_end", [bpe]):
        return report(cid, what, _("after the first epoch, parameters close to d2l's SGD run"),
                      _gap_text(*gap, bpe), _(END_TO_END_HINT))  # fmt: skip
    res = _tiers(cid, run["test_accuracy"], what)
    res.details.update(curve=run.get("curve", []), seconds=run.get("seconds"))
    if run.get("stopped_after"):  # config.STOP_EARLY: judged at the epoch that reached it
        res.details.update(stopped_after=run["stopped_after"], epochs=run.get("epochs"),
                           stop_accuracy=config.ACCURACY_TIERS[0][0])  # fmt: skip
    return res


END_TO_END_HINT = N_("check cross_entropy (per-example losses) and the training loop")
"""The end-to-end trajectory's hint until the other checks are known (settle_end_to_end)."""

SHAPES_THE_RUN = ("softmax", "cross_entropy", "train_ch3")
"""The graded functions the end-to-end run's parameters depend on (accuracy only reports)."""

OWN_FUNCTIONS = ("softmax", "cross_entropy", "accuracy", "train_ch3")


def settle_end_to_end(res, results):
    """Once every check has run (checks.loop.run), the end-to-end trajectory hint names what was
    measured: the functions the run depends on whose own checks failed, or that they passed theirs
    (the difference is then d2l's path of train_epoch_ch3). Unchanged when some are not known."""
    line = _("Hint: {hint}").format(hint=_(END_TO_END_HINT))
    lines = res.message.splitlines()
    if res.passed or line not in lines:
        return
    own = {f: [r for r in results.values() if r.function == f and r.check_id != res.check_id]
           for f in OWN_FUNCTIONS}  # fmt: skip
    failing = [f for f in SHAPES_THE_RUN if any(not r.passed for r in own[f])]
    if failing:
        checks = [r.check_id for f in failing for r in own[f] if not r.passed]
        hint = ngettext(
            "{functions} failed its own checks ({checks}) and this run uses it: fix those first",
            "{functions} failed their own checks ({checks}) and this run uses them: fix those first",
            len(failing),
        ).format(functions=", ".join(failing), checks=", ".join(checks))
    elif all(own[f] for f in SHAPES_THE_RUN):
        passed = [f for f in OWN_FUNCTIONS if own[f] and all(r.passed for r in own[f])]
        hint = _(
            "{functions} passed their own checks, where train_ch3 trains with torch.optim.SGD; this "
            "run passes d2l's sgd function as the updater, so check train_epoch_ch3's other branch: "
            "l.sum().backward(), then updater(X.shape[0]), on every minibatch"
        ).format(functions=", ".join(passed))
    else:
        return
    res.message = "\n".join(
        _("Hint: {hint}").format(hint=hint) if ln == line else ln for ln in lines
    )


train_ch3_end_to_end.settle = settle_end_to_end


CHECKS = [
    Check(
        "train_ch3.end_to_end",
        train_ch3_end_to_end,
        describe=N_(
            "your softmax, cross_entropy and train_ch3 with d2l's sgd (lr {lr}, batch {batch}) follow d2l's SGD run through the first epoch and reach a test accuracy of at least {full} on the grader's hidden test images after {epochs} epochs (at least {half}: {half_share} of the points)"
        ),
        public=True,
        needs=("softmax", "cross_entropy"),
        trains=True,
        curve=N_("your softmax, cross_entropy and train_ch3 (d2l's sgd)"),
        early_run="end_to_end",
    ),
    Check(
        "train_ch3.updates",
        train_ch3_updates,
        describe=N_(
            "train_epoch_ch3 updates the parameters once per minibatch, both with an updater function (sum of the losses, backward, updater(batch size)) and with a torch.optim optimizer (zero_grad, mean of the losses, backward, step)"
        ),
        public=True,
        trains=True,
        early_run="grader_model",
    ),
    Check(
        "train_ch3.test_set",
        train_ch3_test_set,
        describe=N_(
            "train_ch3 measures the accuracy on test_iter after every epoch (one pass over test_iter per epoch) and adds it to the Animator"
        ),
        public=True,
        trains=True,
    ),
    Check(
        "train_ch3.accuracy",
        train_ch3_accuracy,
        describe=N_(
            "train_ch3 with the grader's model, loss and torch.optim.SGD (lr {lr}, batch {batch}) ends each of its {trajectory_epochs} epochs with the parameters of the grader's own SGD run; its test accuracy is shown, not graded"
        ),
        public=True,
        trains=True,
        curve=N_("your train_ch3 with the grader's model and torch.optim.SGD"),
    ),
]
"""This function's checks, in grading order (autograder/checks/registry.py)."""
