"""The checks of cross_entropy(y_hat, y): shapes, values, in-place use, underflow and gradients."""

from __future__ import annotations

import math

import torch

from autograder import config
from autograder.checks.registry import Check
from autograder.i18n import N_, _
from autograder.units.softmax_regression import references
from autograder.units.softmax_regression.checks.common import (
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
    _tensor_call,
    _tensor_or_fail,
    _within,
    close,
    fmt,
    gradcheck_error,
    report,
    result,
)

WRONG_CE_GRAD_HINT = N_(
    "the gradient of -log(y_hat[i, y_i]) is -1 / y_hat[i, y_i] at the true class and 0 for every "
    "other class: check the sign, and that only the true class's probability enters the loss"
)


COLUMNS_HINT = N_("y_hat[:, y] picks whole columns; pick one entry per row with y_hat[range(n), y]")


def cross_entropy_shape(caller):
    """cross_entropy maps (n, q) probabilities and (n,) labels to (n,) losses (square too)."""
    cid = "cross_entropy.shape"
    for n, q in SHAPES:
        args = [_probs(n, q, seed=n), _labels(n, q)]
        inp = _("y_hat of shape {shape}, y of shape {labels}").format(shape=(n, q), labels=(n,))
        out, fail = _tensor_call(
            caller, cid, "cross_entropy", args, inp, _("a tensor of shape {shape}").format(shape=(n,))
        )  # fmt: skip
        if fail:
            return fail
        if tuple(out.shape) != (n,):
            hint = _("return one loss per example: -log(y_hat[range(len(y_hat)), y])")
            if tuple(out.shape) == (n, n):
                hint = _(COLUMNS_HINT)
            elif out.dim() == 0:
                hint = _(
                    "return the per-example losses, not their mean or sum (d2l averages later)"
                )
            shape = _("shape {shape}")
            return report(cid, inp, shape.format(shape=(n,)), shape.format(shape=tuple(out.shape)), hint)  # fmt: skip
    return result(cid, True)


def cross_entropy_values(caller):
    """Equals -log y_hat[i, y_i] (d2l's example gives [2.3026, 0.6931])."""
    cid = "cross_entropy.values"
    cases = [
        (torch.tensor(D2L_Y_HAT), torch.tensor(D2L_Y)),
        (_probs(5, 4, seed=3), _labels(5, 4, 3)),
        (_probs(3, 7, torch.float64, seed=4), _labels(3, 7, 4)),
    ]
    for y_hat, y in cases:
        want = references.cross_entropy(y_hat.to(torch.float64), y)
        inp = f"y_hat = {fmt(y_hat)}, y = {y.tolist()}"
        expected = fmt(want.to(y_hat.dtype))
        out, fail = _tensor_call(caller, cid, "cross_entropy", [y_hat, y], inp, expected)
        if fail:
            return fail
        if out.shape != want.shape or not close(out, want, y_hat.dtype):
            hint = _("the loss of example i is -log(y_hat[i, y[i]])")
            if tuple(out.shape) == (len(y), len(y)):
                hint = _(COLUMNS_HINT)
            elif out.shape == want.shape and close(-out, want, y_hat.dtype):
                hint = _(
                    "the sign is wrong: cross-entropy is the NEGATIVE log-probability of the true class"
                )
            elif out.numel() == 1 and math.isclose(
                float(out.reshape(-1)[0]), float(want.mean()), rel_tol=1e-3
            ):
                hint = _("you returned the mean; return the per-example losses (shape (n,))")
            elif out.shape == want.shape and close(
                out, -torch.log(y_hat.to(torch.float64)).sum(1), y_hat.dtype
            ):
                hint = _(
                    "only the true class's probability enters the loss: index y_hat[range(n), y]"
                )
            return report(cid, inp, fmt(want.to(y_hat.dtype)), fmt(out), hint)
    return result(cid, True)


def cross_entropy_not_in_place(caller):
    """cross_entropy leaves y_hat and y unchanged (y_hat holds a 0, so an in-place clamp shows)."""
    y_hat, y = _probs(4, 3, seed=9), _labels(4, 3, 9)
    y_hat[0, (y[0] + 1) % 3] = 0.0
    return _not_in_place(caller, "cross_entropy.not_in_place", "cross_entropy", [y_hat, y])


def cross_entropy_underflow(caller):
    """Finite (>= CE_UNDERFLOW_MIN_LOSS) when the true class's probability underflowed to 0."""
    cid = "cross_entropy.underflow"
    for dtype in (torch.float32, torch.float64):
        y_hat = torch.tensor([[1.0, 0.0, 0.0], [0.2, 0.3, 0.5], [0.0, 1.0, 0.0]], dtype=dtype)
        y = torch.tensor([2, 1, 1])
        reply, fail = _call(caller, cid, "cross_entropy", [y_hat, y])
        if fail:
            return fail
        out = reply["value"]
        inp = _("y_hat = {y_hat}, y = {y} (row 0: the true class has probability 0)").format(
            y_hat=fmt(y_hat), y=y.tolist()
        )
        exact = -math.log(0.3)
        if bad := _tensor_or_fail(cid, out, inp, _("a tensor of 3 losses"), "cross_entropy"):
            return bad
        if out.shape != (3,):
            shape = _("shape {shape}")
            return report(
                cid, inp, shape.format(shape=(3,)), shape.format(shape=tuple(out.shape)), _("see the shape check")
            )  # fmt: skip
        o = out.to(torch.float64)
        if not torch.isfinite(o).all() or o[0] < config.CE_UNDERFLOW_MIN_LOSS:
            hint = _("log(0) = -inf: clamp the picked probabilities to a tiny positive value before the log, "
                     "e.g. y_hat[range(n), y].clamp(min=torch.finfo(y_hat.dtype).tiny)")  # fmt: skip
            if torch.isfinite(o).all() and (o < 0).any():
                hint = _("losses cannot be negative: cross-entropy is -log of a probability (check the sign)")  # fmt: skip
            elif torch.isfinite(o).all():
                hint = _("the clamp is too large: a true-class probability of 0 must cost at least {loss}").format(
                    loss=config.CE_UNDERFLOW_MIN_LOSS
                )  # fmt: skip
            return report(
                cid,
                inp,
                _("finite losses, row 0 at least {loss}").format(loss=config.CE_UNDERFLOW_MIN_LOSS),
                fmt(out),
                hint,
            )
        if not math.isclose(float(o[1]), exact, rel_tol=1e-4) or abs(float(o[2])) > 1e-5:
            return report(
                cid,
                inp,
                _("row 1 = {exact}, row 2 = 0").format(exact=f"{exact:.5f}"),
                fmt(out),
                _("only clamp values that are (near) zero; other losses must stay exact"),
            )
    return result(cid, True)


def cross_entropy_gradient(caller):
    """d mean CE / d y_hat is -1/(n y_hat[i, y_i]) at the true class; gradcheck in float64."""
    cid = "cross_entropy.gradient"
    P = references.softmax64(_logits(4, 3, scale=0.5, seed=10))
    y = _labels(4, 3, 10)
    if fail := _gradient_flows(caller, cid, "cross_entropy", [P, y], 0, (4,)):
        return fail
    r = caller.call(
        "cross_entropy",
        [P, y],
        grad_wrt=(0,),
        cotangent=torch.full((4,), 1 / 4, dtype=torch.float64),
    )
    want = references.grad_mean_ce_wrt_probs(P, y)
    if not r.get("ok") or r["grads"][0] is None or not close(r["grads"][0], want, torch.float64):
        got = r.get("error") or fmt(r["grads"][0])
        no_grad = not r.get("ok") or r["grads"][0] is None
        hint = _(NO_GRAD_HINT) if no_grad else _(WRONG_CE_GRAD_HINT)
        inp = _("y_hat = {y_hat}, y = {y} (float64), loss = mean").format(
            y_hat=fmt(P), y=y.tolist()
        )
        return report(cid, inp, fmt(want), got, hint)
    err, why = gradcheck_error(caller, "cross_entropy", [P, y])
    if not _within(err):
        return report(
            cid,
            f"y_hat = {fmt(P)}",
            _("numerical and analytical Jacobians agreeing"),
            why or _("max difference {error}").format(error=f"{err:.3g}"),
            _(NO_GRAD_HINT),
        )
    return result(cid, True, gradcheck_error=err)


def _no_gradient_hint(caller, O, y):
    """Why no gradient came back, from what cross_entropy returns for the same input without one:
    not one loss per example (the mean or the sum: the shape is the cause), else a cut graph."""
    plain = caller.call("@softmax_ce", [O, y])
    value = plain.get("value") if plain.get("ok") else None
    if type(value) is torch.Tensor and tuple(value.shape) != (len(y),):
        return _(
            "cross_entropy returned shape {got} for {n} examples instead of one loss per example, "
            "shape ({n},), so the per-example gradient could not be taken: return "
            "-log(y_hat[range(len(y_hat)), y]), not its mean or sum (see the shape check)"
        ).format(got=tuple(value.shape), n=len(y))
    return _(NO_GRAD_HINT)


def cross_entropy_model_gradient(caller):
    """Through torch's softmax and the student's cross_entropy: dL/dO = (softmax(O) - onehot(y))/n,
    and the W, b closed forms (the student's softmax is not involved: its faults cost it alone)."""
    cid = "cross_entropy.model_gradient"
    O, y = _logits(5, 4, torch.float64, scale=1.0, seed=11), _labels(5, 4, 11)
    r = caller.call(
        "@softmax_ce", [O, y], grad_wrt=(0,), cotangent=torch.full((5,), 1 / 5, dtype=torch.float64)
    )
    want = references.grad_mean_loss_wrt_logits(O, y)
    inp = f"O = {fmt(O)}, y = {y.tolist()}, loss = mean(cross_entropy(torch.softmax(O, 1), y))"
    if r.get("ok") and (forbidden := _builtins_used(cid, r, "cross_entropy")):
        return forbidden
    if not r.get("ok") or r["grads"][0] is None:
        return report(cid, inp, fmt(want), r.get("error") or _("no gradient"),
                      _no_gradient_hint(caller, O, y))  # fmt: skip
    if not close(r["grads"][0], want, torch.float64):
        return report(
            cid,
            inp,
            f"(softmax(O) - onehot(y)) / n = {fmt(want)}",
            fmt(r["grads"][0]),
            _("check cross_entropy's values first: -log of each row's true-class probability"),
        )
    gen = _gen(12)
    X = torch.randn(6, 5, generator=gen, dtype=torch.float64)
    W = torch.randn(5, 3, generator=gen, dtype=torch.float64) * 0.1
    b = torch.randn(3, generator=gen, dtype=torch.float64) * 0.1
    yy = _labels(6, 3, 12)
    r = caller.call(
        "@model_loss",
        [X, W, b, yy],
        grad_wrt=(1, 2),
        cotangent=torch.tensor(1.0, dtype=torch.float64),
    )
    gW, gb = references.grad_mean_loss_wrt_params(X, W, b, yy)
    if not r.get("ok") or any(g is None for g in r["grads"]):
        return report(
            cid,
            _("a model softmax(XW + b) with X (6, 5), W (5, 3)"),
            _("gradients for W and b"),
            r.get("error") or _("no gradient"),
            _(NO_GRAD_HINT),
        )
    if not (close(r["grads"][0], gW, torch.float64) and close(r["grads"][1], gb, torch.float64)):
        return report(cid, "X (6, 5), W (5, 3), b (3,), float64", f"dW = {fmt(gW)}", f"dW = {fmt(r['grads'][0])}",
                      _("dL/dW = -1/m sum_i (onehot(y_i) - P(y | x_i)) x_i; check cross_entropy's values first"))  # fmt: skip
    return result(cid, True)


CHECKS = [
    Check(
        "cross_entropy.shape",
        cross_entropy_shape,
        describe=N_("cross_entropy(y_hat, y) returns one loss per example: shape (n,)"),
        public=True,
    ),
    Check(
        "cross_entropy.values",
        cross_entropy_values,
        describe=N_(
            "cross_entropy(y_hat, y)[i] equals -log y_hat[i, y[i]] on random probabilities"
        ),
    ),
    Check(
        "cross_entropy.not_in_place",
        cross_entropy_not_in_place,
        describe=N_("cross_entropy leaves y_hat and y unchanged"),
        public=True,
    ),
    Check(
        "cross_entropy.underflow",
        cross_entropy_underflow,
        describe=N_(
            "a true-class probability of 0 gives a finite loss of at least 15; the other rows stay exact"
        ),
    ),
    Check(
        "cross_entropy.gradient",
        cross_entropy_gradient,
        describe=N_(
            "gradients flow back through cross_entropy to y_hat: -1 / y_hat[i, y[i]] at the true class, 0 elsewhere"
        ),
    ),
    Check(
        "cross_entropy.model_gradient",
        cross_entropy_model_gradient,
        describe=N_(
            "for the model softmax(XW + b) built from your softmax and cross_entropy, the gradient of the mean loss with respect to W and b equals the closed form"
        ),
    ),
]
"""This function's checks, in grading order (autograder/checks/registry.py)."""
