"""The checks of the concise training: the student's loss (d2l: nn.CrossEntropyLoss(reduction='none'))
and trainer (torch.optim.SGD(net.parameters(), lr=0.1)), and d2l's training loop run by the grader
with them and the student's net, whose accuracy the grader measures on the hidden test images."""

from __future__ import annotations

import torch

from autograder import config
from autograder.checks.registry import Check
from autograder.i18n import N_, _
from autograder.units.softmax_regression_concise import references, unit
from autograder.units.softmax_regression_concise.checks.common import (
    _call,
    _labels,
    _logits,
    _tensor_call,
    accuracy_tiers,
    close,
    failed_call,
    fmt,
    report,
    result,
    shape_text,
)

D2L_LOSS = "nn.CrossEntropyLoss(reduction='none')"
D2L_TRAINER = "torch.optim.SGD(net.parameters(), lr=0.1)"


def _loss_hint(o, y, out):
    """Why the loss's values are not the per-example cross-entropy of logits o."""
    n = len(y)
    if out.dim() == 0 or out.numel() == 1:
        return _("{loss} gives one loss per example; the default reduction='mean' averages them "
                 "(d2l's training loop takes the mean itself)").format(loss=D2L_LOSS)  # fmt: skip
    if tuple(out.shape) != (n,):
        return _("one loss per example, shape ({n},): {loss}").format(n=n, loss=D2L_LOSS)
    probs = torch.softmax(o.to(torch.float64), 1)
    if close(out, references.cross_entropy_from_logits(probs, y), o.dtype):
        return _("the loss received probabilities: nn.CrossEntropyLoss takes the logits and "
                 "applies softmax itself (no nn.Softmax in net, no softmax before the loss)")  # fmt: skip
    return _("loss takes the net's logits and the labels: {loss}").format(loss=D2L_LOSS)


def training_loss(caller):
    """loss(logits, y) is the per-example cross-entropy of the logits: shape (n,), the values of
    F.cross_entropy(o, y, reduction='none') (computed by the grader in float64)."""
    cid = "training.loss"
    cases = [(_logits(6, 10, seed=21), _labels(6, 10, 21)), (_logits(256, 10, scale=5.0, seed=22), _labels(256, 10, 22))]  # fmt: skip
    for o, y in cases:
        want = references.cross_entropy_from_logits(o, y)
        inp = f"loss(o, y), o = {fmt(o)}, y = {fmt(y)}"
        out, fail = _tensor_call(caller, cid, "loss", [o, y], inp, fmt(want.to(o.dtype)))
        if fail:
            return fail
        if out.shape != want.shape or not close(out, want, o.dtype):
            return report(cid, inp, fmt(want.to(o.dtype)) if out.shape == want.shape else shape_text(want.shape),
                          fmt(out),
                          _loss_hint(o, y, out))  # fmt: skip
    return result(cid, True)


def _estimated_lr(before, grad, after):
    """The learning rate a plain SGD step from `before` with `grad` to `after` would have used."""
    g = grad.to(torch.float64).reshape(-1)
    delta = (before.to(torch.float64) - after.to(torch.float64)).reshape(-1)
    return float((delta @ g) / (g @ g)) if float(g @ g) > 0 else float("nan")


def _sgd_expected(record, lr):
    """[each step's expected parameters] of plain SGD from the recorded start and gradients."""
    want, p = [], record["before"].to(torch.float64)
    for g in record["grads"]:
        p = p - lr * g.to(torch.float64)
        want.append(p)
    return want


def training_optimizer(caller):
    """Two steps of trainer with the grader's gradients on net's parameters: each parameter of net
    moves by -0.1 times its gradient at every step (plain SGD: no momentum, no weight decay)."""
    cid = "training.optimizer"
    lr = config.LR
    reply, fail = _call(caller, cid, "@optimizer_steps", [7])
    if fail:
        return fail
    record = reply["value"].get("parameters") or []
    what = _("{steps} steps of trainer.step() with the grader's gradients set on every parameter of net").format(
        steps=unit.OPTIMIZER_STEPS)  # fmt: skip
    expected = _("p <- p - {lr} * p.grad for every parameter p of net, at every step").format(lr=lr)
    if not record:
        return report(cid, what, expected, _("net has no parameters"), _("see net.shapes"))
    still = [r["name"] for r in record if torch.equal(r["after"][-1], r["before"])]
    if len(still) == len(record):
        return report(cid, what, expected, _("no parameter of net changed"),
                      _("trainer must update this net's parameters: build it after net, as {trainer}").format(
                          trainer=D2L_TRAINER))  # fmt: skip
    if still:
        return report(cid, what, expected, _("unchanged: {names}").format(names=", ".join(still)),
                      _("give trainer all of net's parameters: {trainer}").format(trainer=D2L_TRAINER))  # fmt: skip
    for r in record:
        want = _sgd_expected(r, lr)
        for step, (got, w) in enumerate(zip(r["after"], want)):
            if not close(got, w, r["before"].dtype):
                rate = _estimated_lr(
                    r["before"] if step == 0 else r["after"][step - 1], r["grads"][step], got
                )
                return report(cid, what, expected,
                              _("step {step} of {name}: an effective learning rate of {rate}").format(
                                  step=step + 1, name=r["name"], rate=f"{rate:.4g}"),
                              _optimizer_hint(step, rate, lr))  # fmt: skip
    return result(cid, True)


def _optimizer_hint(step, rate, lr):
    if step == 0 and abs(rate - lr) > 1e-3 * lr and rate > 0:
        return _("the learning rate is {rate}; d2l trains with lr={lr}: {trainer}").format(
            rate=f"{rate:.4g}", lr=lr, trainer=D2L_TRAINER)  # fmt: skip
    if step > 0:
        return _("the second step also moved by the first gradient: plain SGD has no momentum, "
                 "{trainer}").format(trainer=D2L_TRAINER)  # fmt: skip
    return _("each step must be p - lr * p.grad (no weight decay, no other optimizer): {trainer}").format(
        trainer=D2L_TRAINER)  # fmt: skip


def what_run():
    return _("d2l's training loop (y_hat = net(X); l = loss(y_hat, y); trainer.zero_grad(); "
             "l.mean().backward(); trainer.step()) with your net, loss and trainer, {epochs} "
             "epochs, batch {batch}").format(epochs=config.NUM_EPOCHS, batch=config.BATCH_SIZE)  # fmt: skip


def training_accuracy(caller):
    """The grader's d2l loop with the student's net, loss and trainer for config.NUM_EPOCHS; the
    trained net's accuracy on the hidden test images, measured by the grader (accuracy tiers)."""
    cid = "training.accuracy"
    run = caller.train("concise")
    if not run.get("ok"):
        res = failed_call(cid, "net/loss/trainer", run)
        return res
    probes, out = run["probe_in"], run["probe_out"]
    want = probes.reshape(len(probes), -1).to(torch.float64) @ run["W"].to(torch.float64) + run["b"].to(torch.float64)  # fmt: skip
    scale = float(want.abs().max()) or 1.0
    if not (isinstance(out, torch.Tensor) and out.shape == want.shape
            and float((out.to(torch.float64) - want).abs().max()) <= unit.AFFINE_RTOL * scale + 1e-4):  # fmt: skip
        return report(cid, what_run(), _("a trained net that is an affine map of the image"),
                      _("net is not one: its outputs are not x W + b for any W, b"),
                      _("see net.structure: softmax regression's net is one nn.Linear(784, 10) "
                        "after nn.Flatten(), nothing else"))  # fmt: skip
    hint = _("the net barely learned: check loss ({loss}) and trainer ({trainer})").format(
        loss=D2L_LOSS, trainer=D2L_TRAINER)  # fmt: skip
    res = accuracy_tiers(cid, run["test_accuracy"], what_run(), hint)
    res.details.update(curve=run.get("curve", []), seconds=run.get("seconds"))
    return res


CHECKS = [
    Check(
        "training.loss",
        training_loss,
        describe=N_(
            "loss takes logits and labels and returns one cross-entropy per example: nn.CrossEntropyLoss(reduction='none')"
        ),
        public=True,
    ),
    Check(
        "training.optimizer",
        training_optimizer,
        describe=N_(
            "trainer is torch.optim.SGD over the parameters of net, with the learning rate 0.1"
        ),
        public=True,
        needs=("net",),
    ),
    Check(
        "training.accuracy",
        training_accuracy,
        describe=N_(
            "d2l's training loop with your net, loss and trainer reaches a test accuracy of at least {full} after {epochs} epochs on the grader's hidden test images (at least {half}: {half_share} of the points)"
        ),
        public=True,
        needs=("net",),
        trains=True,
        curve=N_("your net, loss and trainer in d2l's training loop"),
        early_run="concise",
    ),
]
"""These objects' checks, in grading order (autograder/checks/registry.py)."""
