"""Helpers every check of this unit shares: message formatting, calling through a caller, judging
forbidden operators and in-place changes, input generators and a numerical Jacobian.

Every message is a gettext template (autograder/i18n): translated, then filled in, so a Chinese
submission reads its checks in Chinese; code, numbers, shapes and dtypes stay as they are."""

from __future__ import annotations

import torch

from autograder import config, i18n
from autograder.checks.outcome import CheckResult
from autograder.checks.registry import points_of
from autograder.i18n import N_, _
from autograder.units.softmax_regression import references, unit
from autograder.units.softmax_regression.calls import STUDENT_TEXT_CHARS, bounded


def fmt(x, width=6):
    """Short readable form of a tensor or number for messages."""
    if isinstance(x, torch.Tensor):
        if x.numel() > 12:
            return _("tensor of shape {shape}, dtype {dtype}").format(
                shape=tuple(x.shape), dtype=str(x.dtype).replace("torch.", "")
            )
        vals = x.detach().to(torch.float64) if x.is_floating_point() else x
        body = str(vals.tolist()) if not x.is_floating_point() else _round(vals.tolist(), width)
        return _("{values} (shape {shape}, {dtype})").format(
            values=body, shape=tuple(x.shape), dtype=str(x.dtype).replace("torch.", "")
        )
    return shown(x)


def shown(value, limit=STUDENT_TEXT_CHARS):
    """repr(value) of something a worker sent, at most `limit` characters (saying the rest's size):
    every text taken from a student's value into a message goes through here or ``bounded``."""
    return bounded(repr(value), limit)


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
    """A CheckResult with the configured points (full when ok, else `score` or 0); a practice
    check (registry.Check.practice: the self-check's only) earns nothing."""
    points = points_of(check_id)
    if ok:
        return CheckResult(check_id, float(points), float(points), "passed", "", details)
    return CheckResult(check_id, float(score or 0.0), float(points), "failed", message, details)


WORKER_ERRORS = (
    N_("computing the gradient: {error}"),
    N_("{what} has type {kind}; expected a torch.Tensor"),
    N_(
        "{what} is a {kind}, a subclass of torch.Tensor; return a plain torch.Tensor (subclasses "
        "can change how comparisons behave, so they are not graded)"
    ),
    N_("the return value"),
    N_("the gradient"),
    N_("argument {number}"),
    N_("ran out of memory (MemoryError)"),
    N_("the grading sandbox refused this ({error})"),
    N_("SystemExit: graded functions must return, not call sys.exit()"),
    N_("KeyboardInterrupt raised inside the function"),
    N_("no function named {function} was defined"),
)
"""What calls.py (in the worker or the kernel) says about a call, in English: worker_error says it
in the current language. Fields named error and what are themselves such texts."""


WORKER_ERROR_CHARS = 600
"""The longest error text from a worker a message keeps."""


def worker_error(text):
    """`text` (a call's error as calls.py words it) in the current language; other text unchanged
    (a student's exception, e.g. "RuntimeError: ...", stays as Python wrote it)."""
    if text is None:
        return text
    text = bounded(text, WORKER_ERROR_CHARS)
    for template in WORKER_ERRORS:
        found = i18n.parse(template, text)
        if found is not None:
            found = {k: worker_error(v) if k in ("error", "what") else v for k, v in found.items()}
            return _(template).format(**found)
    return text


def report(check_id, inp, expected, got, hint):
    """A failed CheckResult with the standard four-part message (its parts already translated)."""
    lines = (
        _("Input: {input}").format(input=inp),
        _("Expected: {expected}").format(expected=expected),
        _("Got: {got}").format(got=worker_error(got)),
        _("Hint: {hint}").format(hint=hint),
    )
    return result(check_id, False, "\n".join(lines))


def _call(caller, check_id, fn, args, **kw):
    """Call through the caller; return (reply, None) or (None, failed CheckResult), also when
    the call reached an operator `fn` must implement (so every check that calls it judges that)."""
    reply = caller.call(fn, args, **kw)
    if reply.get("ok"):
        if forbidden := _builtins_used(check_id, reply, fn):
            return None, forbidden
        return reply, None
    status = reply.get("status", "error")
    error = worker_error(bounded(reply.get("error"), 600))
    msg = _("Calling {function} raised an error: {error}").format(function=fn, error=error)
    if "NotImplementedError" in error:
        msg = _(
            "{function} is not implemented yet: replace `raise NotImplementedError()` with your code"
        ).format(function=fn)
    elif "must match the size of tensor" in error and fn in BROADCAST_HINTS:
        msg += "\n" + _("Hint: {hint}").format(hint=_(BROADCAST_HINTS[fn]))
    res = result(check_id, False, msg)
    res.status = (
        status if status in ("error", "memory", "forbidden", "missing", "failed") else "error"
    )
    return None, res


BROADCAST_HINTS = {
    "softmax": N_(
        "divide by the row sums kept as a column, X_exp.sum(1, keepdim=True): without keepdim "
        "the (n,) sums broadcast along the columns, which fails unless n == q (and is wrong when n == q)"
    ),
    "accuracy": N_("take the predicted class with y_hat.argmax(axis=1) before comparing with y"),
}
"""Hints for broadcasting errors ("The size of tensor a must match...") raised by a function."""


def forbidden_ops(fn, reply):
    """The kernel operators in `reply` that `fn` must not use (unit.FORBIDDEN_OPS), judged here."""
    owner = "cross_entropy" if fn.startswith("@") else fn
    banned = unit.FORBIDDEN_OPS.get(owner, ())
    ops = reply.get("ops") or []
    return sorted({op for op in ops if isinstance(op, str) and op in banned})


def _builtins_used(check_id, reply, fn):
    """A forbidden result if the call reached an operator it must implement, else None."""
    used = forbidden_ops(fn, reply)
    if not used:
        return None
    message = _(
        "{function} ran {operators} (what torch.softmax, log_softmax, F.cross_entropy or "
        "nll_loss compute), which it is meant to implement from scratch."
    ).format(function=fn, operators=", ".join(used))
    hint = _("write it with torch.exp, sum and indexing as in d2l section 4.4.")
    res = result(check_id, False, message + " " + _("Hint: {hint}").format(hint=hint))
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
        bounded(f"{type(value).__name__} {shown(value)}"),
        _("{function} must return a torch.Tensor").format(function=fn),
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


SHAPES = ((2, 5), (4, 4), (1, 10), (7, 3), (256, 10))


def _not_in_place(caller, cid, fn, args):
    reply, fail = _call(caller, cid, fn, args)
    if fail:
        return fail
    if forbidden := _builtins_used(cid, reply, fn):
        return forbidden
    if changed := changed_arguments(args, reply):
        names = ", ".join(_("argument {number}").format(number=i + 1) for i in changed)
        return report(
            cid,
            f"{fn}({', '.join(fmt(a) for a in args)})",
            _("the inputs unchanged after the call"),
            _("{arguments} was modified in place").format(arguments=names),
            _("avoid in-place operations on the inputs (exp_(), /=, -=); compute new tensors"),
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
        return None, _("{function} raised: {error}").format(
            function=fn, error=worker_error(base.get("error"))
        )
    out = base["value"]
    if not isinstance(out, torch.Tensor):
        return None, _("{function} returned {type}").format(function=fn, type=type(out).__name__)
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
                _("{function} raised during finite differences: {error}").format(
                    function=fn, error=worker_error(r_hi.get("error") or r_lo.get("error"))
                ),
            )
        numerical[:, j] = (r_hi["value"] - r_lo["value"]).reshape(-1).to(torch.float64) / (2 * eps)
    analytical = torch.zeros_like(numerical)
    for i in range(out.numel()):
        v = torch.zeros(out.numel(), dtype=torch.float64)
        v[i] = 1
        r = caller.call(fn, inputs, grad_wrt=(wrt,), cotangent=v.reshape(out.shape))
        if not r.get("ok"):
            return None, _("backward failed: {error}").format(error=worker_error(r.get("error")))
        g = r["grads"][0]
        if g is None:
            return None, _("no gradient flowed back to the input")
        analytical[i] = g.reshape(-1).to(torch.float64)
    excess = (numerical - analytical).abs() - config.GRADCHECK_RTOL * analytical.abs()
    return float(excess.max()), None


NO_GRAD_HINT = N_(
    "the computation was cut off from autograd: avoid .detach(), .data, .item(), .numpy() and "
    "torch.tensor(...) on intermediate results inside the function"
)
"""A msgid: translate it where it is used, _(NO_GRAD_HINT)."""


def _gradient_flows(caller, cid, fn, args, wrt, shape):
    """A failed result if no gradient reaches args[wrt], else None."""
    r = caller.call(fn, args, grad_wrt=(wrt,), cotangent=torch.ones(shape, dtype=torch.float64))
    if r.get("ok") and (forbidden := _builtins_used(cid, r, fn)):
        return forbidden
    if not r.get("ok"):
        hint = _(NO_GRAD_HINT)
        if "Mismatch in shape" in str(r.get("error")):
            hint = _("{function} returned the wrong shape (see the shape check)").format(
                function=fn
            )
        return report(cid, fmt(args[wrt]), _("a differentiable result"), r.get("error"), hint)
    if r["grads"][0] is None:
        return report(
            cid,
            _("{function} on {input}").format(function=fn, input=fmt(args[wrt])),
            _("gradients flowing back to the input"),
            _("no gradient"),
            _(NO_GRAD_HINT),
        )
    return None


def _within(err):
    return err is not None and err <= config.GRADCHECK_ATOL


D2L_Y_HAT = [[0.1, 0.3, 0.6], [0.3, 0.2, 0.5]]

D2L_Y = [0, 2]


def _probs(n, q, dtype=torch.float32, seed=0):
    return references.softmax64(_logits(n, q, seed=seed)).to(dtype)
