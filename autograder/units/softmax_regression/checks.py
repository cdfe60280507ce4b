"""The checks: one function per graded property, shared by the pytest autograder and nbgrader tests.

A check receives a *caller* (student code behind it: a worker process, or the notebook kernel),
builds its inputs, computes the reference itself, and returns a CheckResult whose message says
what input, what was expected, what came back, and a hint. Checks never raise for student errors.
"""

from __future__ import annotations

import math

import torch

from autograder import config
from autograder.checks.outcome import CheckResult
from autograder.checks.registry import Check, Registry
from autograder.units.softmax_regression import references
from autograder.units.softmax_regression.calls import bounded


def fmt(x, width=6):
    """Short readable form of a tensor or number for messages."""
    if isinstance(x, torch.Tensor):
        if x.numel() > 12:
            return f"tensor of shape {tuple(x.shape)}, dtype {str(x.dtype).replace('torch.', '')}"
        vals = x.detach().to(torch.float64) if x.is_floating_point() else x
        body = str(vals.tolist()) if not x.is_floating_point() else _round(vals.tolist(), width)
        return f"{body} (shape {tuple(x.shape)}, {str(x.dtype).replace('torch.', '')})"
    return repr(x)


def _round(v, width):
    if isinstance(v, list):
        return "[" + ", ".join(_round(e, width) for e in v) + "]"
    return f"{v:.{width}g}"


def close(got, want, dtype):
    """Elementwise |got - want| <= ATOL + RTOL |want| with the dtype's tolerances (both finite)."""
    name = str(dtype).replace("torch.", "")
    rtol, atol = config.RTOL.get(name, 1e-4), config.ATOL.get(name, 1e-6)
    got, want = got.to(torch.float64), want.to(torch.float64)
    return bool(torch.isfinite(got).all()) and bool(
        (got - want).abs().le(atol + rtol * want.abs()).all()
    )


def result(check_id, ok, message="", score=None, **details):
    """A CheckResult with the configured points (full when ok, else `score` or 0)."""
    points = config.POINTS[check_id]
    if ok:
        return CheckResult(check_id, float(points), float(points), "passed", "", details)
    return CheckResult(check_id, float(score or 0.0), float(points), "failed", message, details)


def report(check_id, inp, expected, got, hint):
    """A failed CheckResult with the standard four-part message."""
    return result(check_id, False, f"Input: {inp}\nExpected: {expected}\nGot: {got}\nHint: {hint}")


def _call(caller, check_id, fn, args, **kw):
    """Call through the caller; return (reply, None) or (None, failed CheckResult), also when
    the call reached an operator `fn` must implement (so every check that calls it judges that)."""
    reply = caller.call(fn, args, **kw)
    if reply.get("ok"):
        if forbidden := _builtins_used(check_id, reply, fn):
            return None, forbidden
        return reply, None
    status = reply.get("status", "error")
    error = bounded(reply.get("error"), 600)
    msg = f"Calling {fn} raised an error: {error}"
    if "NotImplementedError" in error:
        msg = f"{fn} is not implemented yet: replace `raise NotImplementedError()` with your code"
    elif "must match the size of tensor" in error and fn in BROADCAST_HINTS:
        msg += f"\nHint: {BROADCAST_HINTS[fn]}"
    res = result(check_id, False, msg)
    res.status = (
        status if status in ("error", "memory", "forbidden", "missing", "failed") else "error"
    )
    return None, res


BROADCAST_HINTS = {
    "softmax": "divide by the row sums kept as a column, X_exp.sum(1, keepdim=True): without keepdim "
    "the (n,) sums broadcast along the columns, which fails unless n == q (and is wrong when n == q)",
    "accuracy": "take the predicted class with y_hat.argmax(axis=1) before comparing with y",
}
"""Hints for broadcasting errors ("The size of tensor a must match...") raised by a function."""


def forbidden_ops(fn, reply):
    """The kernel operators in `reply` that `fn` must not use (config.FORBIDDEN_OPS), judged here."""
    owner = "cross_entropy" if fn.startswith("@") else fn
    banned = config.FORBIDDEN_OPS.get(owner, ())
    ops = reply.get("ops") or []
    return sorted({op for op in ops if isinstance(op, str) and op in banned})


def _builtins_used(check_id, reply, fn):
    """A forbidden result if the call reached an operator it must implement, else None."""
    used = forbidden_ops(fn, reply)
    if not used:
        return None
    res = result(
        check_id,
        False,
        f"{fn} ran {', '.join(used)} (what torch.softmax, log_softmax, F.cross_entropy or "
        "nll_loss compute), which it is meant to implement from scratch. "
        "Hint: write it with torch.exp, sum and indexing as in d2l section 4.4.",
    )
    res.status = "forbidden"
    return res


def changed_arguments(sent, reply):
    """Indices of tensor arguments whose values or shapes differ after the call (judged here)."""
    after = reply.get("args_after") or []
    changed = []
    for i, (a, b) in enumerate(zip(sent, after)):
        if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
            if a.shape != b.shape or a.dtype != b.dtype or not torch.equal(a, b.to(a.device)):
                changed.append(i)
        elif isinstance(a, torch.Tensor):
            changed.append(i)
    return changed


def _gen(seed):
    return torch.Generator().manual_seed(seed)


def _logits(n, q, dtype=torch.float32, scale=3.0, seed=0):
    return (torch.randn(n, q, generator=_gen(seed + 7 * n + q), dtype=torch.float64) * scale).to(
        dtype
    )


def _labels(n, q, seed=0):
    return torch.randint(0, q, (n,), generator=_gen(seed + 13 * n + q))


def _tensor_or_fail(check_id, value, inp, expected, fn):
    """None if value is a tensor, else a failed result explaining the type."""
    if isinstance(value, torch.Tensor):
        return None
    return report(
        check_id,
        inp,
        expected,
        f"{type(value).__name__} {value!r}",
        f"{fn} must return a torch.Tensor",
    )


def _tensor_call(caller, cid, fn, args, inp, expected):
    """Call `fn`; return (its tensor result, None), or (None, the failed result) when it raised,
    used a built-in it must implement, or returned something other than a tensor."""
    reply, fail = _call(caller, cid, fn, args)
    if fail:
        return None, fail
    if forbidden := _builtins_used(cid, reply, fn):
        return None, forbidden
    if bad := _tensor_or_fail(cid, reply["value"], inp, expected, fn):
        return None, bad
    return reply["value"], None


# ----------------------------------------------------------------------------------------------
# softmax
# ----------------------------------------------------------------------------------------------
SHAPES = ((2, 5), (4, 4), (1, 10), (7, 3), (256, 10))


def softmax_shape(caller):
    """softmax maps (n, q) to (n, q), including square inputs and a single row."""
    cid = "softmax.shape"
    for n, q in SHAPES:
        inp = f"X of shape ({n}, {q})"
        out, fail = _tensor_call(
            caller, cid, "softmax", [_logits(n, q)], inp, f"a tensor of shape ({n}, {q})"
        )
        if fail:
            return fail
        if tuple(out.shape) != (n, q):
            hint = "keep the row sums as a column with X_exp.sum(1, keepdim=True) so the division broadcasts per row"
            if tuple(out.shape) in ((n,), (q,), (1, q), (n, 1)):
                hint = "the result must have one probability per entry; " + hint
            return report(cid, inp, f"shape ({n}, {q})", f"shape {tuple(out.shape)}", hint)
    return result(cid, True)


def _softmax_values(caller, cid, cases, what):
    for X in cases:
        want, inp = references.softmax64(X), f"{what} X = {fmt(X)}"
        out, fail = _tensor_call(caller, cid, "softmax", [X], inp, fmt(want.to(X.dtype)))
        if fail:
            return fail
        if tuple(out.shape) != tuple(X.shape):
            return report(
                cid,
                inp,
                f"shape {tuple(X.shape)}",
                f"shape {tuple(out.shape)}",
                "see the shape check",
            )
        if not close(out, want, X.dtype):
            return report(cid, inp, fmt(want.to(X.dtype)), fmt(out), _softmax_hint(X, out))
    return result(cid, True)


def _softmax_hint(X, out):
    """Diagnose a wrong softmax output."""
    out64 = out.to(torch.float64)
    if not torch.isfinite(out64).all():
        return (
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
        return "you normalised each column (dim=0); softmax normalises each row: sum over dim=1"
    if close(out, references.log_softmax64(X), X.dtype):
        return "this is log-softmax (log-probabilities); return probabilities, exp(X) / row sums"
    e = torch.exp(X64 - X64.max())
    if close(out, e / e.sum(), X.dtype):
        return "you divided by the sum over the whole matrix; divide each row by its own sum"
    if X.dim() == 2 and X.shape[0] == X.shape[1]:
        r = torch.exp(X64 - X64.max(1, keepdim=True).values)
        if close(out, r / r.sum(1), X.dtype):
            return (
                "on this square input X_exp / X_exp.sum(1) divided column j by row j's sum: keep the "
                "row sums as a column with X_exp.sum(1, keepdim=True)"
            )
    sums = out64.sum(1)
    if not torch.allclose(sums, torch.ones_like(sums), atol=1e-3):
        return f"each row must sum to 1 (row sums were {_round(sums.tolist(), 4)})"
    if (out64 < 0).any():
        return "probabilities cannot be negative"
    return "compare with exp(X_ij) / sum_k exp(X_ik) for each row i"


def softmax_values(caller):
    """Rows are non-negative, sum to 1 and equal the reference (incl. d2l's example)."""
    cases = [_logits(2, 5, seed=1), _logits(4, 4, seed=2), _logits(3, 6, torch.float64, seed=3)]
    return _softmax_values(caller, "softmax.values", cases, "logits")


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
        if bad := _tensor_or_fail(cid, reply["value"], fmt(inp), "a tensor", "softmax"):
            return bad
        got.append(reply["value"])
    if got[0].shape != got[1].shape or not close(got[1], got[0], torch.float64):
        return report(
            cid,
            f"X and X + c with c = {c.flatten().tolist()} added to rows 0-3",
            "the same probabilities for both",
            f"softmax(X) = {fmt(got[0])}, softmax(X + c) = {fmt(got[1])}",
            "softmax must depend only on differences within a row; normalise each row separately",
        )
    return result(cid, True)


def softmax_not_in_place(caller):
    """softmax leaves its input unchanged."""
    return _not_in_place(caller, "softmax.not_in_place", "softmax", [_logits(3, 4, seed=5)])


def _not_in_place(caller, cid, fn, args):
    reply, fail = _call(caller, cid, fn, args)
    if fail:
        return fail
    if forbidden := _builtins_used(cid, reply, fn):
        return forbidden
    if changed := changed_arguments(args, reply):
        names = ", ".join(f"argument {i + 1}" for i in changed)
        return report(
            cid,
            f"{fn}({', '.join(fmt(a) for a in args)})",
            "the inputs unchanged after the call",
            f"{names} was modified in place",
            "avoid in-place operations on the inputs (exp_(), /=, -=); compute new tensors",
        )
    return result(cid, True)


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
    return _softmax_values(caller, "softmax.stability", cases, "large logits")


def softmax_dtype(caller):
    """The output keeps the input's dtype (float32, float64) and device."""
    cid = "softmax.dtype"
    for dtype in (torch.float32, torch.float64):
        X = _logits(3, 4, dtype, seed=6)
        reply, fail = _call(caller, cid, "softmax", [X], device=caller.device)
        if fail:
            return fail
        out = reply["value"]
        if bad := _tensor_or_fail(cid, out, fmt(X), f"a {dtype} tensor", "softmax"):
            return bad
        if out.dtype != dtype:
            return report(
                cid,
                f"X of dtype {dtype}",
                f"dtype {dtype}",
                f"dtype {out.dtype}",
                "do not convert: torch.exp and sums keep the dtype",
            )
        if reply.get("device") != reply.get("input_device"):
            return report(
                cid,
                f"X on {reply.get('input_device')}",
                f"a result on {reply.get('input_device')}",
                f"a result on {reply.get('device')}",
                "do not move tensors between devices (.cpu(), .numpy(), torch.tensor(...))",
            )
    return result(cid, True)


def gradcheck_error(caller, fn, inputs, wrt=0, eps=None):
    """Max of |numerical - analytical| - RTOL |analytical| over the Jacobian of fn at inputs[wrt].

    As torch.autograd.gradcheck decides, the check passes when this is at most GRADCHECK_ATOL.

    Returns (error, None) or (None, message) when the function could not be differentiated.
    The numerical Jacobian uses central differences; the analytical one, one backward pass per
    output element through the student's own autograd graph.
    """
    eps = eps or config.GRADCHECK_EPS
    x = inputs[wrt]
    base = caller.call(fn, inputs)
    if not base.get("ok"):
        return None, f"{fn} raised: {base.get('error')}"
    out = base["value"]
    if not isinstance(out, torch.Tensor):
        return None, f"{fn} returned {type(out).__name__}"
    numerical = torch.zeros(out.numel(), x.numel(), dtype=torch.float64)
    flat = x.reshape(-1)
    for j in range(x.numel()):
        hi, lo = flat.clone(), flat.clone()
        hi[j] += eps
        lo[j] -= eps
        args_hi, args_lo = list(inputs), list(inputs)
        args_hi[wrt], args_lo[wrt] = hi.reshape(x.shape), lo.reshape(x.shape)
        r_hi, r_lo = caller.call(fn, args_hi), caller.call(fn, args_lo)
        if not (r_hi.get("ok") and r_lo.get("ok")):
            return (
                None,
                f"{fn} raised during finite differences: {r_hi.get('error') or r_lo.get('error')}",
            )
        numerical[:, j] = (r_hi["value"] - r_lo["value"]).reshape(-1).to(torch.float64) / (2 * eps)
    analytical = torch.zeros_like(numerical)
    for i in range(out.numel()):
        v = torch.zeros(out.numel(), dtype=torch.float64)
        v[i] = 1
        r = caller.call(fn, inputs, grad_wrt=(wrt,), cotangent=v.reshape(out.shape))
        if not r.get("ok"):
            return None, f"backward failed: {r.get('error')}"
        g = r["grads"][0]
        if g is None:
            return None, "no gradient flowed back to the input"
        analytical[i] = g.reshape(-1).to(torch.float64)
    excess = (numerical - analytical).abs() - config.GRADCHECK_RTOL * analytical.abs()
    return float(excess.max()), None


NO_GRAD_HINT = (
    "the computation was cut off from autograd: avoid .detach(), .data, .item(), .numpy() and "
    "torch.tensor(...) on intermediate results inside the function"
)


WRONG_CE_GRAD_HINT = (
    "the gradient of -log(y_hat[i, y_i]) is -1 / y_hat[i, y_i] at the true class and 0 for every "
    "other class: check the sign, and that only the true class's probability enters the loss"
)


def _gradient_flows(caller, cid, fn, args, wrt, shape):
    """A failed result if no gradient reaches args[wrt], else None."""
    r = caller.call(fn, args, grad_wrt=(wrt,), cotangent=torch.ones(shape, dtype=torch.float64))
    if r.get("ok") and (forbidden := _builtins_used(cid, r, fn)):
        return forbidden
    if not r.get("ok"):
        hint = NO_GRAD_HINT
        if "Mismatch in shape" in str(r.get("error")):
            hint = f"{fn} returned the wrong shape (see the shape check)"
        return report(cid, fmt(args[wrt]), "a differentiable result", r.get("error"), hint)
    if r["grads"][0] is None:
        return report(
            cid,
            f"{fn} on {fmt(args[wrt])}",
            "gradients flowing back to the input",
            "no gradient",
            NO_GRAD_HINT,
        )
    return None


def _within(err):
    return err is not None and err <= config.GRADCHECK_ATOL


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
            f"Jacobians agreeing within {config.GRADCHECK_ATOL}",
            got,
            NO_GRAD_HINT,
        )
    return result(cid, True, gradcheck_error=err)


# ----------------------------------------------------------------------------------------------
# cross_entropy
# ----------------------------------------------------------------------------------------------
D2L_Y_HAT = [[0.1, 0.3, 0.6], [0.3, 0.2, 0.5]]
D2L_Y = [0, 2]


def _probs(n, q, dtype=torch.float32, seed=0):
    return references.softmax64(_logits(n, q, seed=seed)).to(dtype)


def cross_entropy_shape(caller):
    """cross_entropy maps (n, q) probabilities and (n,) labels to (n,) losses (square too)."""
    cid = "cross_entropy.shape"
    for n, q in SHAPES:
        args = [_probs(n, q, seed=n), _labels(n, q)]
        inp = f"y_hat of shape ({n}, {q}), y of shape ({n},)"
        out, fail = _tensor_call(
            caller, cid, "cross_entropy", args, inp, f"a tensor of shape ({n},)"
        )
        if fail:
            return fail
        if tuple(out.shape) != (n,):
            hint = "return one loss per example: -log(y_hat[range(len(y_hat)), y])"
            if tuple(out.shape) == (n, n):
                hint = "y_hat[:, y] picks whole columns; pick one entry per row with y_hat[range(n), y]"
            elif out.dim() == 0:
                hint = "return the per-example losses, not their mean or sum (d2l averages later)"
            return report(cid, inp, f"shape ({n},)", f"shape {tuple(out.shape)}", hint)
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
            hint = "the loss of example i is -log(y_hat[i, y[i]])"
            if tuple(out.shape) == (len(y), len(y)):
                hint = "y_hat[:, y] picks whole columns; pick one entry per row with y_hat[range(n), y]"
            elif out.shape == want.shape and close(-out, want, y_hat.dtype):
                hint = "the sign is wrong: cross-entropy is the NEGATIVE log-probability of the true class"
            elif out.numel() == 1 and math.isclose(
                float(out.reshape(-1)[0]), float(want.mean()), rel_tol=1e-3
            ):
                hint = "you returned the mean; return the per-example losses (shape (n,))"
            elif out.shape == want.shape and close(
                out, -torch.log(y_hat.to(torch.float64)).sum(1), y_hat.dtype
            ):
                hint = "only the true class's probability enters the loss: index y_hat[range(n), y]"
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
        inp = f"y_hat = {fmt(y_hat)}, y = {y.tolist()} (row 0: the true class has probability 0)"
        exact = -math.log(0.3)
        if bad := _tensor_or_fail(cid, out, inp, "a tensor of 3 losses", "cross_entropy"):
            return bad
        if out.shape != (3,):
            return report(
                cid, inp, "shape (3,)", f"shape {tuple(out.shape)}", "see the shape check"
            )
        o = out.to(torch.float64)
        if not torch.isfinite(o).all() or o[0] < config.CE_UNDERFLOW_MIN_LOSS:
            hint = ("log(0) = -inf: clamp the picked probabilities to a tiny positive value before the log, "
                    "e.g. y_hat[range(n), y].clamp(min=torch.finfo(y_hat.dtype).tiny)")  # fmt: skip
            if torch.isfinite(o).all() and (o < 0).any():
                hint = "losses cannot be negative: cross-entropy is -log of a probability (check the sign)"
            elif torch.isfinite(o).all():
                hint = f"the clamp is too large: a true-class probability of 0 must cost at least {config.CE_UNDERFLOW_MIN_LOSS}"
            return report(
                cid,
                inp,
                f"finite losses, row 0 at least {config.CE_UNDERFLOW_MIN_LOSS}",
                fmt(out),
                hint,
            )
        if not math.isclose(float(o[1]), exact, rel_tol=1e-4) or abs(float(o[2])) > 1e-5:
            return report(
                cid,
                inp,
                f"row 1 = {exact:.5f}, row 2 = 0",
                fmt(out),
                "only clamp values that are (near) zero; other losses must stay exact",
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
        hint = NO_GRAD_HINT if not r.get("ok") or r["grads"][0] is None else WRONG_CE_GRAD_HINT
        inp = f"y_hat = {fmt(P)}, y = {y.tolist()} (float64), loss = mean"
        return report(cid, inp, fmt(want), got, hint)
    err, why = gradcheck_error(caller, "cross_entropy", [P, y])
    if not _within(err):
        return report(
            cid,
            f"y_hat = {fmt(P)}",
            "numerical and analytical Jacobians agreeing",
            why or f"max difference {err:.3g}",
            NO_GRAD_HINT,
        )
    return result(cid, True, gradcheck_error=err)


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
        return report(cid, inp, fmt(want), r.get("error") or "no gradient", NO_GRAD_HINT)
    if not close(r["grads"][0], want, torch.float64):
        return report(
            cid,
            inp,
            f"(softmax(O) - onehot(y)) / n = {fmt(want)}",
            fmt(r["grads"][0]),
            "check cross_entropy's values first: -log of each row's true-class probability",
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
            "a model softmax(XW + b) with X (6, 5), W (5, 3)",
            "gradients for W and b",
            r.get("error") or "no gradient",
            NO_GRAD_HINT,
        )
    if not (close(r["grads"][0], gW, torch.float64) and close(r["grads"][1], gb, torch.float64)):
        return report(cid, "X (6, 5), W (5, 3), b (3,), float64", f"dW = {fmt(gW)}", f"dW = {fmt(r['grads'][0])}",
                      "dL/dW = -1/m sum_i (onehot(y_i) - P(y | x_i)) x_i; check cross_entropy's values first")  # fmt: skip
    return result(cid, True)


# ----------------------------------------------------------------------------------------------
# accuracy
# ----------------------------------------------------------------------------------------------
def _count(caller, cid, y_hat, y):
    """Call accuracy; return (count or None, failed result or None)."""
    reply, fail = _call(caller, cid, "accuracy", [y_hat, y])
    if fail:
        return None, fail
    value = reply["value"]
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            return None, report(cid, f"y_hat {tuple(y_hat.shape)}, y {tuple(y.shape)}", "one number", f"tensor of shape {tuple(value.shape)}",
                                "compare predicted and true labels, then sum the matches to one number")  # fmt: skip
        value = float(value.reshape(-1)[0])
    return float(value), None


def accuracy_values(caller):
    """Returns the NUMBER of correct predictions (d2l's example gives 1.0)."""
    cid = "accuracy.values"
    cases = [(torch.tensor(D2L_Y_HAT), torch.tensor(D2L_Y))]
    for n, q, s in ((8, 5, 1), (6, 6, 2), (50, 10, 3)):
        y_hat, y = _probs(n, q, seed=s), _labels(n, q, s)
        y[: n // 2] = y_hat[: n // 2].argmax(1)  # make about half of them right
        cases.append((y_hat, y))
    for y_hat, y in cases:
        got, fail = _count(caller, cid, y_hat, y)
        if fail:
            return fail
        want = references.accuracy(y_hat, y)
        if got != want:
            hint = "take the predicted class with y_hat.argmax(axis=1), compare with y, and count the matches"
            if math.isclose(got, want / len(y), rel_tol=1e-6):
                hint = "d2l's accuracy returns the number of correct predictions, not the fraction (evaluate_accuracy divides later)"
            return report(
                cid, f"y_hat = {fmt(y_hat)}, y = {y.tolist()}", repr(want), repr(got), hint
            )
    return result(cid, True)


def accuracy_labels(caller):
    """Accepts 1-D predictions that are already labels (no argmax then)."""
    cid = "accuracy.labels"
    y_hat, y = torch.tensor([0, 2, 1, 1, 3]), torch.tensor([0, 1, 1, 1, 2])
    got, fail = _count(caller, cid, y_hat, y)
    if fail:
        return fail
    if got != 3.0:
        return report(cid, f"y_hat = {y_hat.tolist()} (labels), y = {y.tolist()}", "3.0", repr(got),
                      "only take the argmax when y_hat has more than one column (len(y_hat.shape) > 1 and y_hat.shape[1] > 1)")  # fmt: skip
    return result(cid, True)


def accuracy_not_in_place(caller):
    """accuracy leaves its inputs unchanged."""
    y_hat, y = _probs(6, 4, seed=13), _labels(6, 4, 13)
    return _not_in_place(caller, "accuracy.not_in_place", "accuracy", [y_hat, y])


# ----------------------------------------------------------------------------------------------
# train_ch3 (run by the grader: the measured test accuracy counts, not what the code reports)
# ----------------------------------------------------------------------------------------------
def _train(caller, cid, mode):
    run = caller.train(mode)
    if not run.get("ok"):
        res = result(cid, False, f"train_ch3 did not finish: {run.get('error')}")
        res.status = (
            run.get("status", "error")
            if run.get("status") in ("error", "missing", "memory", "forbidden")
            else "error"
        )
        return None, res
    return run, None


def _tiers(cid, acc, what):
    points = config.POINTS[cid]
    for threshold, fraction in config.ACCURACY_TIERS:
        if acc >= threshold:
            res = result(cid, fraction == 1.0, score=points * fraction, test_accuracy=acc)
            if fraction < 1.0:
                res.message = (
                    f"Input: {what}\nExpected: test accuracy >= {config.ACCURACY_TIERS[0][0]}\n"
                    f"Got: {acc:.4f} (partial credit tier >= {threshold})\nHint: check the training loop"
                )
            return res
    res = report(cid, what, f"test accuracy >= {config.ACCURACY_TIERS[0][0]} (measured by the grader)", f"{acc:.4f}",
                 "the parameters barely learned: does each batch compute the loss, backpropagate, and call the updater?")  # fmt: skip
    res.details["test_accuracy"] = acc
    return res


WHAT_RUN = (
    f"{config.NUM_EPOCHS} epochs, lr {config.LR}, batch {config.BATCH_SIZE}, seed {config.SEED}"
)


def _trajectory_gap(run, mode, steps):
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
    where = f"after updater step {step}" if step % bpe else f"after epoch {step // bpe}"
    size = "no parameters recorded" if gap == float("inf") else f"differ by {gap:.2%} (relative)"
    return f"{where}: {size}"


def train_ch3_updates(caller):
    """One updater step per training batch per epoch, zero_grad, and the first steps equal SGD's."""
    cid = "train_ch3.updates"
    run, fail = _train(caller, cid, "grader_model")
    if fail:
        return fail
    bpe, epochs = run["batches_per_epoch"], run["epochs"]
    want = epochs * bpe
    what = f"train_ch3 with the grader's model, loss and torch.optim.SGD updater, {epochs} epochs"
    if run["steps"] != want:
        return report(cid, what, f"{want} updater steps ({bpe} batches x {epochs} epochs)", f"{run['steps']} steps",
                      "train_epoch_ch3 must call the updater once per minibatch of train_iter, for each of num_epochs epochs")  # fmt: skip
    if run["zero_grads"] is not None and run["zero_grads"] < run["steps"]:
        return report(cid, what, "updater.zero_grad() before every step", f"{run['zero_grads']} zero_grad calls for {run['steps']} steps",
                      "with a torch.optim optimizer call updater.zero_grad() before l.mean().backward(), or gradients accumulate")  # fmt: skip
    if not run.get("loss_calls"):
        return report(cid, what, "the loss passed to train_ch3 computed on every minibatch", "the loss was never called",
                      "compute l = loss(net(X), y) with the loss argument, not another loss")  # fmt: skip
    if gap := _trajectory_gap(run, "grader_model", config.TRAJECTORY_STEPS):
        return report(cid, what, "the parameters of the grader's own SGD run", _gap_text(*gap, bpe),
                      "each step must be: y_hat = net(X); l = loss(y_hat, y); updater.zero_grad(); "
                      "l.mean().backward(); updater.step() (use net and loss as given)")  # fmt: skip
    return result(cid, True)


def train_ch3_test_set(caller):
    """Evaluates on test_iter once per epoch (not on the training set)."""
    cid = "train_ch3.test_set"
    run, fail = _train(caller, cid, "grader_model")
    if fail:
        return fail
    epochs, per = run["epochs"], run["test_batches_per_epoch"]
    if run["test_passes"] != epochs or run["test_batches"] != epochs * per:
        return report(cid, f"train_ch3 over {epochs} epochs", f"{epochs} full passes over test_iter (one evaluation per epoch)",
                      f"{run['test_passes']} passes, {run['test_batches']} batches of test_iter",
                      "call evaluate_accuracy(net, test_iter) after each epoch's training")  # fmt: skip
    return result(cid, True)


def train_ch3_accuracy(caller):
    """With the grader's model and loss, every epoch ends where the grader's own SGD run does."""
    cid = "train_ch3.accuracy"
    run, fail = _train(caller, cid, "grader_model")
    if fail:
        return fail
    bpe, epochs = run["batches_per_epoch"], run["epochs"]
    what = f"train_ch3 with the grader's model, loss and updater, {epochs} epochs, lr {config.LR}, batch {config.BATCH_SIZE}"
    if gap := _trajectory_gap(run, "grader_model", [bpe * (e + 1) for e in range(epochs)]):
        res = report(cid, what, "the parameters of the grader's own SGD run at the end of every epoch",
                     _gap_text(*gap, bpe) + f"; test accuracy measured by the grader {run['test_accuracy']:.4f}",
                     "train each epoch over all of train_iter with the given net, loss and updater; "
                     "do not re-initialise or change the parameters yourself")  # fmt: skip
        res.details["test_accuracy"] = run["test_accuracy"]
        return res
    res = result(cid, True, test_accuracy=run["test_accuracy"])
    res.details.update(curve=run.get("curve", []), seconds=run.get("seconds"))
    return res


def train_ch3_end_to_end(caller):
    """End to end with the student's softmax, cross_entropy and train_ch3: d2l's SGD run, whose
    test accuracy the grader measures on test images the student's code never received."""
    cid = "train_ch3.end_to_end"
    what = f"your softmax, cross_entropy and train_ch3 with d2l's sgd updater, {WHAT_RUN}"
    run, fail = _train(caller, cid, "end_to_end")
    if fail:
        return fail
    bpe = run["batches_per_epoch"]
    if not run["steps"]:
        return report(cid, what, f"d2l's sgd updater called once per minibatch ({bpe} per epoch)", "0 updater steps",
                      "train_epoch_ch3 must call updater(X.shape[0]) after l.sum().backward() on every minibatch")  # fmt: skip
    if run.get("loss_calls", 0) < run["steps"]:
        return report(cid, what, "your cross_entropy (the loss argument) computed on every minibatch",
                      f"{run.get('loss_calls', 0)} loss calls for {run['steps']} updater steps",
                      "train_epoch_ch3 must compute l = loss(net(X), y) with the loss it is given")  # fmt: skip
    if gap := _trajectory_gap(run, "end_to_end", [bpe]):
        return report(cid, what, "after the first epoch, parameters close to d2l's SGD run",
                      _gap_text(*gap, bpe), "check cross_entropy (per-example losses) and the training loop")  # fmt: skip
    res = _tiers(cid, run["test_accuracy"], what)
    res.details.update(curve=run.get("curve", []), seconds=run.get("seconds"))
    return res


REGISTRY = Registry(
    [
        # Order matters: function checks first and training last, because the grader's model (with
        # the reference softmax) only enters the worker for the train_ch3-only run, after every
        # other call. public: the inputs are the notebook's own (shapes, in-place use, dtypes, d2l's
        # literal example for 1-D labels, the training's public hyperparameters), so the full
        # message is shown. needs: checks that also run other graded functions are skipped
        # (0 points) when those hung, crashed, are missing or forbidden, instead of waiting for the
        # same failure again. curve: training runs whose curves the feedback draws.
        Check("softmax.shape", softmax_shape, public=True),
        Check("softmax.values", softmax_values),
        Check("softmax.shift_invariance", softmax_shift_invariance),
        Check("softmax.not_in_place", softmax_not_in_place, public=True),
        Check("softmax.stability", softmax_stability),
        Check("softmax.dtype", softmax_dtype, public=True),
        Check("softmax.gradient", softmax_gradient),
        Check("cross_entropy.shape", cross_entropy_shape, public=True),
        Check("cross_entropy.values", cross_entropy_values),
        Check("cross_entropy.not_in_place", cross_entropy_not_in_place, public=True),
        Check("cross_entropy.underflow", cross_entropy_underflow),
        Check("cross_entropy.gradient", cross_entropy_gradient),
        Check("cross_entropy.model_gradient", cross_entropy_model_gradient),
        Check("accuracy.values", accuracy_values),
        Check("accuracy.labels", accuracy_labels, public=True),
        Check("accuracy.not_in_place", accuracy_not_in_place, public=True),
        Check(
            "train_ch3.end_to_end",
            train_ch3_end_to_end,
            public=True,
            needs=("softmax", "cross_entropy"),
            trains=True,
            curve="your softmax, cross_entropy and train_ch3 (d2l's sgd)",
        ),
        Check("train_ch3.updates", train_ch3_updates, public=True, trains=True),
        Check("train_ch3.test_set", train_ch3_test_set, public=True, trains=True),
        Check(
            "train_ch3.accuracy",
            train_ch3_accuracy,
            public=True,
            trains=True,
            curve="your train_ch3 with the grader's model and torch.optim.SGD",
        ),
    ]
)
"""This unit's checks, each declared once (autograder/checks/registry.py)."""

CHECKS = REGISTRY.pairs
"""(id, function) in grading order."""
