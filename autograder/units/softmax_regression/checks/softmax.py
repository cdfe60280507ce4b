"""The checks of softmax(X): shapes, values, shift invariance, in-place use, stability, dtype, gradient."""

from __future__ import annotations

import torch

from autograder import config
from autograder.checks.registry import Check
from autograder.i18n import N_, _
from autograder.units.softmax_regression import references
from autograder.units.softmax_regression.calls import bounded
from autograder.units.softmax_regression.checks.common import (
    NO_GRAD_HINT,
    SHAPES,
    _call,
    _gradient_flows,
    _logits,
    _not_in_place,
    _round,
    _tensor_call,
    _tensor_or_fail,
    _within,
    close,
    fmt,
    gradcheck_error,
    report,
    result,
)


def softmax_shape(caller):
    """softmax maps (n, q) to (n, q), including square inputs and a single row."""
    cid = "softmax.shape"
    for n, q in SHAPES:
        inp = _("X of shape {shape}").format(shape=(n, q))
        out, fail = _tensor_call(
            caller, cid, "softmax", [_logits(n, q)], inp, _("a tensor of shape {shape}").format(shape=(n, q))
        )  # fmt: skip
        if fail:
            return fail
        if tuple(out.shape) != (n, q):
            hint = _("keep the row sums as a column with X_exp.sum(1, keepdim=True) so the division broadcasts per row")  # fmt: skip
            if tuple(out.shape) in ((n,), (q,), (1, q), (n, 1)):
                hint = _("the result must have one probability per entry; {hint}").format(hint=hint)
            shape = _("shape {shape}")
            return report(cid, inp, shape.format(shape=(n, q)), shape.format(shape=tuple(out.shape)), hint)  # fmt: skip
    return result(cid, True)


def _compare_softmax(caller, cid, cases, what):
    for X in cases:
        want, inp = references.softmax64(X), f"{_(what)} X = {fmt(X)}"
        out, fail = _tensor_call(caller, cid, "softmax", [X], inp, fmt(want.to(X.dtype)))
        if fail:
            return fail
        if tuple(out.shape) != tuple(X.shape):
            return report(
                cid,
                inp,
                _("shape {shape}").format(shape=tuple(X.shape)),
                _("shape {shape}").format(shape=tuple(out.shape)),
                _("see the shape check"),
            )
        if not close(out, want, X.dtype):
            return report(cid, inp, fmt(want.to(X.dtype)), fmt(out), _softmax_hint(X, out))
    return result(cid, True)


def _softmax_hint(X, out):
    """Diagnose a wrong softmax output."""
    out64 = out.to(torch.float64)
    if not torch.isfinite(out64).all():
        return _(
            "the result contains NaN or inf: exp overflowed. Subtract each row's maximum before exp "
            "(softmax(X) = softmax(X - c) for any per-row constant c)"
        )
    X64 = X.to(torch.float64)
    rows_sum_to_one = torch.allclose(
        out64.sum(1), torch.ones(out64.shape[0], dtype=torch.float64), atol=1e-3
    )
    if not rows_sum_to_one and torch.allclose(
        out64.sum(0), torch.ones(out64.shape[1], dtype=torch.float64), atol=1e-3
    ):
        return _("you normalised each column (dim=0); softmax normalises each row: sum over dim=1")
    if close(out, references.log_softmax64(X), X.dtype):
        return _("this is log-softmax (log-probabilities); return probabilities, exp(X) / row sums")
    # the wrong answers below are written with the reference softmax (no exp of their own, so the
    # students' self-check can copy this function): over the whole matrix at once, and each row
    # exp(X_i - max_i) divided by row j's sum S_j, where S_i = 1 / (row i's largest probability)
    whole = references.softmax64(X64.reshape(1, -1)).reshape(X64.shape)
    if close(out, whole, X.dtype):
        return _("you divided by the sum over the whole matrix; divide each row by its own sum")
    if X.dim() == 2 and X.shape[0] == X.shape[1]:
        p = references.softmax64(X64)
        top = p.max(1).values
        if close(out, p * top.reshape(1, -1) / top.reshape(-1, 1), X.dtype):
            return _(
                "on this square input X_exp / X_exp.sum(1) divided column j by row j's sum: keep the "
                "row sums as a column with X_exp.sum(1, keepdim=True)"
            )
    sums = out64.sum(1)
    if not torch.allclose(sums, torch.ones_like(sums), atol=1e-3):
        return _("each row must sum to 1 (row sums were {sums})").format(
            sums=_round(sums.tolist(), 4)
        )
    if (out64 < 0).any():
        return _("probabilities cannot be negative")
    return _("compare with exp(X_ij) / sum_k exp(X_ik) for each row i")


def softmax_values(caller):
    """Rows are non-negative, sum to 1 and equal the reference (incl. d2l's example)."""
    cases = [_logits(2, 5, seed=1), _logits(4, 4, seed=2), _logits(3, 6, torch.float64, seed=3)]
    return _compare_softmax(caller, "softmax.values", cases, N_("logits"))


def softmax_shift_invariance(caller):
    """softmax(X + c) == softmax(X) for a different constant c in every row."""
    cid = "softmax.shift_invariance"
    X = _logits(4, 5, torch.float64, seed=4)
    c = torch.tensor([[-40.0], [3.0], [25.0], [60.0]], dtype=torch.float64)
    got = []
    for inp in (X, X + c):
        reply, fail = _call(caller, cid, "softmax", [inp])
        if fail:
            return fail
        if bad := _tensor_or_fail(cid, reply["value"], fmt(inp), _("a tensor"), "softmax"):
            return bad
        got.append(reply["value"])
    if got[0].shape != got[1].shape or not close(got[1], got[0], torch.float64):
        return report(
            cid,
            _("X and X + c with c = {c} added to rows 0-3").format(c=c.flatten().tolist()),
            _("the same probabilities for both"),
            f"softmax(X) = {fmt(got[0])}, softmax(X + c) = {fmt(got[1])}",
            _(
                "softmax must depend only on differences within a row; normalise each row separately"
            ),
        )
    return result(cid, True)


def softmax_not_in_place(caller):
    """softmax leaves its input unchanged."""
    return _not_in_place(caller, "softmax.not_in_place", "softmax", [_logits(3, 4, seed=5)])


def softmax_stability(caller):
    """No overflow: logits of magnitude 1e3 and 1e4, mixed signs, float32 and float64."""
    cases = [torch.tensor([[1000.0, 1010.0, 1020.0]])]
    for mag in config.STABILITY_MAGNITUDES:
        for dtype in (torch.float32, torch.float64):
            base = torch.tensor(
                [[1.0, 0.5, -0.3, 0.0], [-1.0, -0.99, -0.5, -0.2], [0.3, -0.7, 0.9, 0.1]],
                dtype=torch.float64,
            )
            cases.append((base * mag).to(dtype))
    return _compare_softmax(caller, "softmax.stability", cases, N_("large logits"))


OVERFLOW_EXAMPLE = ((1000.0, 1010.0, 1020.0), (-1000.0, -1010.0, -1020.0))
"""d2l's overflow exercise (section 4.4): logits far from 0, where exp over- or underflows."""


def softmax_overflow(caller):
    """Public, practice only: d2l's overflow example in float32 and float64 (the graded stability
    check uses other inputs)."""
    cases = [
        torch.tensor(OVERFLOW_EXAMPLE, dtype=dtype) for dtype in (torch.float32, torch.float64)
    ]
    return _compare_softmax(caller, "softmax.overflow", cases, N_("large logits"))


def softmax_dtype(caller):
    """The output keeps the input's dtype (float32, float64) and device."""
    cid = "softmax.dtype"
    for dtype in (torch.float32, torch.float64):
        X = _logits(3, 4, dtype, seed=6)
        reply, fail = _call(caller, cid, "softmax", [X], device=caller.device)
        if fail:
            return fail
        out = reply["value"]
        if bad := _tensor_or_fail(cid, out, fmt(X), _("a {dtype} tensor").format(dtype=dtype), "softmax"):  # fmt: skip
            return bad
        if out.dtype != dtype:
            return report(
                cid,
                _("X of dtype {dtype}").format(dtype=dtype),
                f"dtype {dtype}",
                f"dtype {out.dtype}",
                _("do not convert: torch.exp and sums keep the dtype"),
            )
        if reply.get("device") != reply.get("input_device"):
            on = _("a result on {device}")
            return report(
                cid,
                _("X on {device}").format(device=bounded(reply.get("input_device"), 40)),
                on.format(device=bounded(reply.get("input_device"), 40)),
                on.format(device=bounded(reply.get("device"), 40)),
                _("do not move tensors between devices (.cpu(), .numpy(), torch.tensor(...))"),
            )
    return result(cid, True)


def softmax_gradient(caller):
    """Gradients flow, and gradcheck passes in float64 (numerical vs analytical Jacobian)."""
    cid = "softmax.gradient"
    X = _logits(3, 4, torch.float64, scale=1.0, seed=8)
    if fail := _gradient_flows(caller, cid, "softmax", [X], 0, (3, 4)):
        return fail
    err, why = gradcheck_error(caller, "softmax", [X])
    if not _within(err):
        got = why or f"max |numerical - analytical| = {err:.3g}"
        return report(
            cid,
            f"X = {fmt(X)} (float64)",
            _("Jacobians agreeing within {atol}").format(atol=config.GRADCHECK_ATOL),
            got,
            _(NO_GRAD_HINT),
        )
    return result(cid, True, gradcheck_error=err)


CHECKS = [
    Check(
        "softmax.shape",
        softmax_shape,
        describe=N_("softmax(X) has the shape (n, q) of X, for several n and q"),
        public=True,
    ),
    Check(
        "softmax.values",
        softmax_values,
        describe=N_(
            "softmax(X)[i, j] equals exp(X[i, j]) / sum_k exp(X[i, k]) on random logits; every row sums to 1"
        ),
    ),
    Check(
        "softmax.shift_invariance",
        softmax_shift_invariance,
        describe=N_(
            "softmax(X + c) equals softmax(X) when a constant c is added to every entry of a row"
        ),
    ),
    Check(
        "softmax.not_in_place",
        softmax_not_in_place,
        describe=N_("softmax leaves its argument X unchanged"),
        public=True,
    ),
    Check(
        "softmax.stability",
        softmax_stability,
        describe=N_(
            "softmax is finite and correct for logits of magnitude 1e3 to 1e4 (mixed signs, float32 and float64)"
        ),
    ),
    Check(
        "softmax.dtype",
        softmax_dtype,
        describe=N_(
            "softmax returns the dtype and device of its input (float32 gives float32, float64 gives float64)"
        ),
        public=True,
    ),
    Check(
        "softmax.gradient",
        softmax_gradient,
        describe=N_(
            "gradients flow back through softmax to X (no detach, no NumPy) and equal the closed form"
        ),
    ),
    Check(
        "softmax.overflow",
        softmax_overflow,
        describe=N_(
            "softmax is finite and correct on d2l's overflow example (large logits) in float32 and float64 (practice: earns no points)"
        ),
        public=True,
        practice=True,
    ),
]
"""This function's checks, in grading order (autograder/checks/registry.py)."""
