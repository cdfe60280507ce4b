"""The checks of softmax_ce_grad(X, y, W, b): the gradient of the mean cross-entropy of softmax(XW + b)
by its closed form, dW = X^T (softmax(XW + b) - onehot(y)) / n and db the mean of the rows, without
autograd: shapes, values against the grader's autograd in float64, a batch with absent classes."""

from __future__ import annotations

import torch

from autograder.checks.registry import Check
from autograder.i18n import N_, _
from autograder.units.softmax_regression_concise import references
from autograder.units.softmax_regression_concise.checks.common import (
    _call,
    _gen,
    close,
    fmt,
    report,
    result,
    shown,
)

FN = "softmax_ce_grad"

CLOSED_FORM = "dW = X^T (softmax(X W + b) - onehot(y)) / n, db = mean of the rows of softmax(X W + b) - onehot(y)"  # fmt: skip


def inputs(n, d, q, dtype=torch.float64, seed=0, labels=None):
    """X (n, d), y (n,) holding class q - 1 (unless `labels`), W (d, q), b (q,): a small model."""
    gen = _gen(seed + 31 * n + 7 * d + q)
    X = torch.randn(n, d, generator=gen, dtype=torch.float64)
    W = torch.randn(d, q, generator=gen, dtype=torch.float64) * 0.5
    b = torch.randn(q, generator=gen, dtype=torch.float64) * 0.5
    y = torch.randint(0, q, (n,), generator=gen) if labels is None else torch.tensor(labels)
    if labels is None:
        y[0] = q - 1  # the last class is present: absent_class alone tests its absence
    return X.to(dtype), y, W.to(dtype), b.to(dtype)


def describe(X, y, W, b):
    return _("X of shape {X}, y of shape {y}, W of shape {W}, b of shape {b} ({dtype})").format(
        X=tuple(X.shape), y=tuple(y.shape), W=tuple(W.shape), b=tuple(b.shape),
        dtype=str(X.dtype).replace("torch.", ""),
    )  # fmt: skip


def pair_shapes(dW, db):
    """'dW shape (d, q), db shape (q,)' in the current language."""
    return _("dW of shape {dW}, db of shape {db}").format(dW=tuple(dW.shape), db=tuple(db.shape))


def pair_values(dW, db):
    """'dW = ..., db = ...' in the current language."""
    return _("dW = {dW}, db = {db}").format(dW=fmt(dW), db=fmt(db))


def _pair(caller, cid, fn, args, inp):
    """((dW, db), None) from a call returning two tensors, or (None, the failed result)."""
    reply, fail = _call(caller, cid, fn, args)
    if fail:
        return None, fail
    value = reply["value"]
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(v, torch.Tensor) for v in value)
    ):
        return None, report(cid, inp, _("the pair (dW, db) of tensors"), shown(value),
                            _("return dW, db (a tuple of two tensors)"))  # fmt: skip
    return tuple(value), None


def _shape_hint(dW, db, X, W):
    """Why the gradients have the wrong shapes."""
    d, q = W.shape
    if tuple(dW.shape) == (q, d) and d != q:
        return _("dW has W's shape (d, q): X^T @ G, not G^T @ X")
    if tuple(dW.shape) != (d, q):
        return _(
            "dW = X^T @ G has W's shape (d, q), where G = softmax(X W + b) - onehot(y) is (n, q)"
        )
    if tuple(db.shape) == (1, q):
        return _("db has b's shape (q,): G.mean(dim=0) without keepdim")
    if tuple(db.shape) == (len(X), q):
        return _("db averages G over the examples: G.mean(dim=0), shape (q,)")
    return _("db has b's shape (q,): the mean of the rows of G")


def softmax_ce_grad_shapes(caller):
    """dW has W's shape (d, q) and db b's shape (q,), for small, square and d2l-sized inputs."""
    cid = f"{FN}.shapes"
    cases = [inputs(5, 4, 3), inputs(1, 6, 2), inputs(6, 6, 6), inputs(256, 784, 10, torch.float32)]
    for X, y, W, b in cases:
        inp = describe(X, y, W, b)
        pair, fail = _pair(caller, cid, FN, [X, y, W, b], inp)
        if fail:
            return fail
        dW, db = pair
        if tuple(dW.shape) != tuple(W.shape) or tuple(db.shape) != tuple(b.shape):
            return report(
                cid,
                inp,
                pair_shapes(W, b),
                pair_shapes(dW, db),
                _shape_hint(dW, db, X, W),
            )
    return result(cid, True)


def _values_hint(X, y, W, b, dW, db):
    """Why the gradients differ from autograd's, from the usual slips of the derivation."""
    want_W, want_b = references.ce_grad_autograd(X, y, W, b)
    n, dtype = len(y), X.dtype
    got_W, got_b = dW.to(torch.float64), db.to(torch.float64)
    W_ok, b_ok = close(got_W, want_W, dtype), close(got_b, want_b, dtype)
    if close(got_W, n * want_W, dtype) and close(got_b, n * want_b, dtype):
        return _("this is the gradient of the SUM of the losses: divide by n, the loss is the mean")
    if W_ok and close(got_b, n * want_b, dtype):
        return _("db is the MEAN of the rows of softmax(X W + b) - onehot(y), not their sum")
    if b_ok and close(got_W, n * want_W, dtype):
        return _("dW must be divided by n too: X^T (softmax(X W + b) - onehot(y)) / n")
    if close(-got_W, want_W, dtype) and close(-got_b, want_b, dtype):
        return _("the sign is wrong: softmax(X W + b) MINUS onehot(y), not the other way round")
    P = references.softmax64(X.to(torch.float64) @ W.to(torch.float64) + b.to(torch.float64))
    if close(got_W, X.to(torch.float64).T @ P / n, dtype):
        return _("subtract the one-hot labels: G = softmax(X W + b) - onehot(y)")
    if W_ok:
        return _("dW is right; db is the mean over the examples of softmax(X W + b) - onehot(y)")
    return _("use the closed form: {formula}").format(formula=CLOSED_FORM)


def _compare(caller, cid, fn, cases, hint=None, how=None):
    """None if `fn` gives autograd's gradients on every case, else the failed result (`how`: a
    note on how it was called, for the message)."""
    for X, y, W, b in cases:
        inp = f"{describe(X, y, W, b)}, y = {y.tolist() if len(y) <= 12 else fmt(y)}"
        inp = f"{inp}, {_(how)}" if how else inp
        pair, fail = _pair(caller, cid, fn, [X, y, W, b], inp)
        if fail and hint and fail.status == "error":  # e.g. a one-hot of too few columns
            return report(cid, inp, _("the pair (dW, db)"), fail.message, hint(X, y, W, b, None, None))  # fmt: skip
        if fail:
            return fail
        dW, db = pair
        want_W, want_b = references.ce_grad_autograd(X, y, W, b)
        if dW.shape != want_W.shape or db.shape != want_b.shape:
            return report(cid, inp, pair_shapes(want_W, want_b),
                          pair_shapes(dW, db), _("see the shapes check"))  # fmt: skip
        if not (close(dW, want_W, X.dtype) and close(db, want_b, X.dtype)):
            return report(cid, inp, pair_values(want_W.to(X.dtype), want_b.to(X.dtype)),
                          pair_values(dW, db),
                          hint(X, y, W, b, dW, db) if hint else _values_hint(X, y, W, b, dW, db))  # fmt: skip
    return None


def softmax_ce_grad_values(caller):
    """Equal to the gradient of mean F.cross_entropy(XW + b, y) by the grader's autograd (float64,
    and float32 on d2l's sizes)."""
    cid = f"{FN}.values"
    cases = [inputs(6, 5, 4, seed=1), inputs(3, 7, 3, seed=2), inputs(4, 4, 4, seed=3),
             inputs(256, 784, 10, torch.float32, seed=4)]  # fmt: skip
    return _compare(caller, cid, FN, cases) or result(cid, True)


def _absent_hint(X, y, W, b, dW, db):
    """The usual slip when only the classes without examples are wrong (or the call failed)."""
    if dW is not None:
        general = _values_hint(X, y, W, b, dW, db)
        if general != _("use the closed form: {formula}").format(formula=CLOSED_FORM):
            return general
    absent = sorted(set(range(W.shape[1])) - set(y.tolist()))
    return _("classes {classes} have no example in this batch, yet their logits still get "
             "gradient: their column of softmax(X W + b), averaged. Build onehot(y) with q = "
             "W.shape[1] columns (F.one_hot(y, num_classes=W.shape[1])), not from y's largest "
             "label").format(classes=absent)  # fmt: skip


def softmax_ce_grad_absent_class(caller):
    """A batch in which some classes, the last one included, have no example: their columns of dW
    and entries of db come from the predicted probabilities alone."""
    cid = f"{FN}.absent_class"
    cases = [inputs(6, 5, 4, seed=5, labels=[0, 1, 0, 1, 1, 0]),
             inputs(5, 3, 5, seed=6, labels=[2, 2, 0, 2, 0])]  # fmt: skip
    return _compare(caller, cid, FN, cases, hint=_absent_hint) or result(cid, True)


def softmax_ce_grad_no_autograd(caller):
    """No autograd at work (recorded at the dispatcher in every call): the closed form also gives
    the gradient with W and b requiring gradients, as a model's parameters do, and under
    torch.no_grad(), as inside a training loop's update."""
    cid = f"{FN}.no_autograd"
    case = inputs(5, 4, 3, seed=7)
    for fn, how in (("@softmax_ce_grad_params", N_("W and b requiring gradients")),
                    ("@softmax_ce_grad_no_grad", N_("called under torch.no_grad()"))):  # fmt: skip
        if fail := _compare(caller, cid, fn, [case], how=how):
            return fail
    return result(cid, True)


CHECKS = [
    Check(
        f"{FN}.shapes",
        softmax_ce_grad_shapes,
        describe=N_(
            "softmax_ce_grad(X, y, W, b) returns (dW, db) with the shapes of W and b, for several n, d and q"
        ),
        public=True,
    ),
    Check(
        f"{FN}.values",
        softmax_ce_grad_values,
        describe=N_(
            "dW and db equal the gradients of the mean loss that autograd computes, in float64 on random inputs"
        ),
    ),
    Check(
        f"{FN}.absent_class",
        softmax_ce_grad_absent_class,
        describe=N_("dW and db are right when a class has no example in the minibatch"),
    ),
    Check(
        f"{FN}.no_autograd",
        softmax_ce_grad_no_autograd,
        describe=N_(
            "softmax_ce_grad computes the gradients by the formula: no backward, nothing from torch.autograd"
        ),
        public=True,
    ),
]
"""This function's checks, in grading order (autograder/checks/registry.py)."""
