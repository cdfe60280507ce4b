"""The checks of stable_cross_entropy(o, y): per-example cross-entropy from logits by the LogSumExp
trick, written by hand: shapes, values, logits of 1e3 and 1e4, gradients, in-place use."""

from __future__ import annotations

import torch

from autograder import config
from autograder.checks.registry import Check
from autograder.i18n import N_, _
from autograder.units.softmax_regression.checks.common import SHAPES
from autograder.units.softmax_regression_concise import references
from autograder.units.softmax_regression_concise.checks.common import (
    NO_GRAD_HINT,
    _call,
    _labels,
    _logits,
    _not_in_place,
    _tensor_call,
    _within,
    close,
    fmt,
    gradcheck_error,
    report,
    result,
    shape_text,
)

FN = "stable_cross_entropy"

FORMULA_HINT = N_(
    "the loss of example i is log(sum_k exp(o_ik)) - o_i[y_i], with the row's maximum m_i "
    "taken out first: m_i + log(sum_k exp(o_ik - m_i)) - o_i[y_i]"
)

COLUMNS_HINT = N_("o[:, y] picks whole columns; pick one logit per row with o[range(n), y]")


def _shape_hint(out, n):
    """Why the losses have the wrong shape."""
    shape = tuple(out.shape)
    if shape == (n, n):
        return _(COLUMNS_HINT)
    if out.dim() == 0:
        return _("return the per-example losses, not their mean or sum (shape (n,))")
    if shape == (n, 1):
        return _("one number per example: drop the kept dimension (keepdim=False, or reshape(-1))")
    return _("return one loss per example: log-sum-exp of each row minus its true class's logit")


def stable_cross_entropy_shape(caller):
    """(n, q) logits and (n,) labels give (n,) losses (square, single-row and d2l's batch too)."""
    cid = f"{FN}.shape"
    for n, q in SHAPES:
        inp = _("o of shape {shape}, y of shape {labels}").format(shape=(n, q), labels=(n,))
        args = [_logits(n, q, seed=n), _labels(n, q)]
        out, fail = _tensor_call(caller, cid, FN, args, inp, shape_text((n,)))
        if fail:
            return fail
        if tuple(out.shape) != (n,):
            return report(cid, inp, shape_text((n,)), shape_text(out.shape), _shape_hint(out, n))
    return result(cid, True)


def _values_hint(o, y, out):
    """Why the losses differ from the reference."""
    want = references.cross_entropy_from_logits(o, y)
    if out.shape != want.shape:
        return _shape_hint(out, len(y)) if out.dim() <= 2 else _(FORMULA_HINT)
    got = out.to(torch.float64)
    if close(-got, want, o.dtype):
        return _("the sign is wrong: the loss is log-sum-exp MINUS the true class's logit (>= 0)")
    probs = torch.softmax(o.to(torch.float64), dim=1)
    if close(
        got, -torch.log(o.to(torch.float64).clamp_min(1e-300)[torch.arange(len(y)), y]), o.dtype
    ):
        return _("o holds logits, not probabilities: -log(o[i, y_i]) is the from-scratch loss of "
                 "probabilities; from logits it is log-sum-exp(o_i) - o_i[y_i]")  # fmt: skip
    if close(got, -torch.log(probs).sum(1), o.dtype):
        return _("only the true class's logit enters the loss: pick o[range(n), y]")
    return _(FORMULA_HINT)


def stable_cross_entropy_values(caller):
    """Equals F.cross_entropy(o, y, reduction='none'), computed by the grader in float64."""
    cid = f"{FN}.values"
    cases = [
        (torch.tensor([[0.1, 2.0, -1.0], [1.5, 0.2, 0.3]]), torch.tensor([1, 2])),
        (_logits(5, 4, seed=3), _labels(5, 4, 3)),
        (_logits(3, 7, torch.float64, seed=4), _labels(3, 7, 4)),
        (_logits(64, 10, scale=8.0, seed=5), _labels(64, 10, 5)),
    ]
    for o, y in cases:
        want = references.cross_entropy_from_logits(o, y)
        inp = f"o = {fmt(o)}, y = {fmt(y)}"
        out, fail = _tensor_call(caller, cid, FN, [o, y], inp, fmt(want.to(o.dtype)))
        if fail:
            return fail
        if out.shape != want.shape or not close(out, want, o.dtype):
            return report(cid, inp, fmt(want.to(o.dtype)), fmt(out), _values_hint(o, y, out))
    return result(cid, True)


def stability_cases(magnitude, dtype):
    """Logits of size `magnitude` (mixed signs, a tie at the maximum) and labels that make every
    part of the trick count: the true class far below the maximum (its probability underflows
    to 0, its loss 2 * magnitude), at the maximum (loss near 0), tied (loss log 2)."""
    o = magnitude * torch.tensor(
        [[1.0, 0.0, -1.0], [-1.0, 1.0, 0.5], [0.25, -1.0, 1.0], [1.0, 1.0, -1.0]],
        dtype=torch.float64,
    )
    return o.to(dtype), torch.tensor([2, 1, 0, 0])


def _stable_close(out, want, o):
    """Elementwise within the dtype's RTOL, plus the rounding of log-sum-exp at the logits' size
    (float32 holds 1e4 + log 2 only to 1e-3: a correct trick may lose that much)."""
    name = str(o.dtype).replace("torch.", "")
    rtol = config.RTOL.get(name, 1e-4)
    atol = 8 * torch.finfo(o.dtype).eps * float(o.abs().max())
    got = out.to(torch.float64)
    return bool(torch.isfinite(got).all()) and bool(
        (got - want).abs().le(atol + rtol * want.abs()).all()
    )


def stable_cross_entropy_stability(caller):
    """Finite and exact for logits of config.STABILITY_MAGNITUDES (1e3, 1e4), float32 and
    float64: exp(1e4) overflows and exp(-2e4) underflows, so only the trick survives."""
    cid = f"{FN}.stability"
    for dtype in (torch.float32, torch.float64):
        for magnitude in config.STABILITY_MAGNITUDES:
            o, y = stability_cases(magnitude, dtype)
            want = references.cross_entropy_from_logits(o, y)
            inp = f"o = {fmt(o)}, y = {y.tolist()}"
            out, fail = _tensor_call(caller, cid, FN, [o, y], inp, fmt(want.to(dtype)))
            if fail:
                return fail
            if out.shape != want.shape:
                return report(cid, inp, shape_text(want.shape), shape_text(out.shape), _("see the shape check"))  # fmt: skip
            if not _stable_close(out, want, o):
                return report(
                    cid, inp, fmt(want.to(dtype)), fmt(out), _stability_hint(o, y, out, want)
                )
    return result(cid, True)


def _stability_hint(o, y, out, want):
    got = out.to(torch.float64)
    picked = o.to(torch.float64)[torch.arange(len(y)), y]
    if torch.allclose(got, -torch.log(picked), equal_nan=True, rtol=1e-3):
        return _("o holds logits, not probabilities: the loss is log-sum-exp(o_i) - o_i[y_i]")
    if torch.isnan(got).any():
        return _(
            "exp overflowed (exp(1e4) = inf, and inf / inf = nan): subtract each row's maximum "
            "before exp, m + log(sum(exp(o - m)))"
        )
    if torch.isinf(got).any():
        return _(
            "a true class far below the maximum has probability exp(-2e4) = 0, and log(0) = -inf: "
            "never take the log of softmax's output; the log of the probability is "
            "o[y] - m - log(sum(exp(o - m))), computed without exp of o[y]"
        )
    if close(-got, want, torch.float64) or bool((got < -1e-6).any()):
        return _("losses cannot be negative: the loss is log-sum-exp MINUS the true class's logit")
    rows = (got - want).abs().argmax()
    return _("row {row} is off: {hint}").format(row=int(rows), hint=_(FORMULA_HINT))


def stable_cross_entropy_gradient(caller):
    """d mean loss / d o = (softmax(o) - onehot(y)) / n, and gradcheck in float64."""
    cid = f"{FN}.gradient"
    o, y = _logits(4, 3, torch.float64, scale=1.0, seed=10), _labels(4, 3, 10)
    n = len(y)
    inp = _("o = {o}, y = {y}, loss = the mean of the losses").format(o=fmt(o), y=y.tolist())
    want = references.grad_mean_ce_wrt_logits(o, y)
    reply, fail = _call(caller, cid, FN, [o, y], grad_wrt=(0,),
                        cotangent=torch.full((n,), 1 / n, dtype=torch.float64))  # fmt: skip
    if fail:
        if fail.status != "forbidden" and "Mismatch in shape" in fail.message:
            return report(cid, inp, shape_text((n,)), fail.message,
                          _("see the shape check: one loss per example"))  # fmt: skip
        return fail
    grad = reply["grads"][0]
    if grad is None:
        return report(cid, inp, fmt(want), _("no gradient"), _(NO_GRAD_HINT))
    if not close(grad, want, torch.float64):
        return report(cid, inp, f"(softmax(o) - onehot(y)) / n = {fmt(want)}", fmt(grad),
                      _("check the values first; the gradient of each loss is softmax(o_i) - onehot(y_i)"))  # fmt: skip
    err, why = gradcheck_error(caller, FN, [o, y])
    if not _within(err):
        return report(cid, f"o = {fmt(o)}", _("numerical and analytical Jacobians agreeing"),
                      why or _("max difference {error}").format(error=f"{err:.3g}"), _(NO_GRAD_HINT))  # fmt: skip
    return result(cid, True, gradcheck_error=err)


def stable_cross_entropy_not_in_place(caller):
    """stable_cross_entropy leaves o and y unchanged (o -= m would change the caller's logits)."""
    o, y = _logits(4, 3, seed=9), _labels(4, 3, 9)
    return _not_in_place(caller, f"{FN}.not_in_place", FN, [o, y])


CHECKS = [
    Check(
        f"{FN}.shape",
        stable_cross_entropy_shape,
        describe=N_("stable_cross_entropy(o, y) returns one loss per example: shape (n,)"),
        public=True,
    ),
    Check(
        f"{FN}.values",
        stable_cross_entropy_values,
        describe=N_(
            "stable_cross_entropy(o, y) equals nn.CrossEntropyLoss(reduction='none') on random logits, in float32 and float64"
        ),
    ),
    Check(
        f"{FN}.stability",
        stable_cross_entropy_stability,
        describe=N_(
            "stable_cross_entropy is finite and exact for logits of magnitude up to 1e4 (mixed signs), where exp overflows and softmax underflows"
        ),
    ),
    Check(
        f"{FN}.gradient",
        stable_cross_entropy_gradient,
        describe=N_(
            "gradients flow back through stable_cross_entropy to o and equal softmax(o) - onehot(y), row by row"
        ),
    ),
    Check(
        f"{FN}.not_in_place",
        stable_cross_entropy_not_in_place,
        describe=N_("stable_cross_entropy leaves o and y unchanged"),
        public=True,
    ),
]
"""This function's checks, in grading order (autograder/checks/registry.py)."""
