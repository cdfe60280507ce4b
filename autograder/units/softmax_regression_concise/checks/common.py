"""What this unit's checks share: the first unit's message helpers, and calling through a caller
judged against this unit's forbidden operators (unit.FORBIDDEN_OPS) with its harness's wording.

Every message is a gettext template (autograder/i18n), filled in after translation."""

from __future__ import annotations

import torch

from autograder import i18n
from autograder.i18n import N_, _
from autograder.units.softmax_regression.calls import bounded
from autograder.units.softmax_regression.checks import common as base
from autograder.units.softmax_regression.checks.common import (  # noqa: F401 - re-exported
    NO_GRAD_HINT,
    _gen,
    _labels,
    _logits,
    _round,
    _within,
    changed_arguments,
    close,
    fmt,
    gradcheck_error,
    report,
    result,
    shown,
)
from autograder.units.softmax_regression_concise import calls, unit

WORKER_ERRORS = (
    N_("{what} is a sequence of {count} items; expected a pair"),
    N_("{what} (item {number})"),
    N_("the returned W"),
    N_("the returned b"),
    N_("train_manual returned a {kind}; expected the pair (W, b)"),
    N_("net maps a (1, 1, 28, 28) batch to {shape}, not (1, 10)"),
    N_("training did not leave parameters of shape (784, 10) and (10,)"),
    N_("the return value is not a tensor, so it has no gradient"),
    N_("TypeError: net is a {kind}, not a torch.nn.Module (build it from nn.Sequential or an nn.Module class)"),
    N_("TypeError: trainer is a {kind} without a step() method; expected a torch.optim optimizer"),
)  # fmt: skip
"""What this unit's calls.py and caller.py say, in English (the first unit's phrases are
base.WORKER_ERRORS): worker_error says it in the current language."""


def worker_error(text):
    """`text` (a reply's error as the harness words it) in the current language; a student's own
    exception text is left as Python wrote it."""
    if text is None:
        return text
    text = bounded(text, base.WORKER_ERROR_CHARS)
    for template in WORKER_ERRORS:
        found = i18n.parse(template, text)
        if found is not None:
            found = {k: worker_error(v) if k in ("error", "what") else v for k, v in found.items()}
            return _(template).format(**found)
    return base.worker_error(text)


def owner(fn):
    """The graded function whose rules a call of `fn` (a name or a composite) is judged by."""
    return calls.COMPOSITE_NEEDS[fn][0] if fn in calls.COMPOSITE_NEEDS else fn


def forbidden_ops(fn, reply):
    """The recorded operators in `reply` that `fn`'s graded function may not reach."""
    banned = unit.FORBIDDEN_OPS.get(owner(fn), ())
    ops = reply.get("ops") or []
    return sorted({op for op in ops if isinstance(op, str) and op in banned})


AUTOGRAD_HINT = N_(
    "compute the gradient from its closed form: G = (softmax(X W + b) - onehot(y)) / n, "
    "dW = X^T G, db = G summed over the rows; no backward(), torch.autograd or torch.func"
)


def forbidden_result(check_id, fn, used):
    """The forbidden CheckResult for `fn` having reached the recorded operators `used`."""
    name = owner(fn)
    if any(op.startswith("autograd::") for op in used):
        message = _(
            "{function} used autograd ({operators}), which it is meant to replace by the "
            "gradient's closed form."
        ).format(function=name, operators=", ".join(used))
        hint = _(AUTOGRAD_HINT)
    else:
        message = _(
            "{function} ran {operators} (what log_softmax, logsumexp, F.cross_entropy or "
            "nll_loss compute), which it is meant to write by hand."
        ).format(function=name, operators=", ".join(used))
        hint = _(
            "write the LogSumExp trick yourself: m = o.max(dim=1, keepdim=True).values, "
            "then m + log(sum(exp(o - m))) minus the true class's logit."
        )
    res = result(check_id, False, message + " " + _("Hint: {hint}").format(hint=hint))
    res.status = "forbidden"
    return res


def _builtins_used(check_id, reply, fn):
    """A forbidden result if the call reached an operator its function may not, else None."""
    used = forbidden_ops(fn, reply)
    return forbidden_result(check_id, fn, used) if used else None


def _call(caller, check_id, fn, args, **kw):
    """Call through the caller; return (reply, None) or (None, failed CheckResult), also when the
    call reached a forbidden operator (so every check that calls `fn` judges that)."""
    reply = caller.call(fn, args, **kw)
    if reply.get("ok"):
        if forbidden := _builtins_used(check_id, reply, fn):
            return None, forbidden
        return reply, None
    if forbidden := _builtins_used(check_id, reply, fn):  # e.g. backward() raised under no_grad
        return None, forbidden
    return None, failed_call(check_id, owner(fn), reply)


def failed_call(check_id, function, reply):
    """The failed CheckResult of a call (or run) of `function` that raised or could not reply."""
    status = reply.get("status", "error")
    error = worker_error(bounded(reply.get("error"), 600))
    message = _("Calling {function} raised an error: {error}").format(
        function=function, error=error
    )
    if "NotImplementedError" in str(error):
        message = _(
            "{function} is not implemented yet: replace `raise NotImplementedError()` with your code"
        ).format(function=function)
    res = result(check_id, False, message)
    res.status = (
        status if status in ("error", "memory", "forbidden", "missing", "failed") else "error"
    )
    return res


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
    """Call `fn`; (its tensor result, None), or (None, the failed result)."""
    reply, fail = _call(caller, cid, fn, args)
    if fail:
        return None, fail
    if bad := _tensor_or_fail(cid, reply["value"], inp, expected, fn):
        return None, bad
    return reply["value"], None


def _not_in_place(caller, cid, fn, args):
    """Passed when `fn` leaves its tensor arguments as they were."""
    reply, fail = _call(caller, cid, fn, args)
    if fail:
        return fail
    if changed := changed_arguments(args, reply):
        names = ", ".join(_("argument {number}").format(number=i + 1) for i in changed)
        return report(
            cid,
            f"{fn}({', '.join(fmt(a) for a in args)})",
            _("the inputs unchanged after the call"),
            _("{arguments} was modified in place").format(arguments=names),
            _("avoid in-place operations on the inputs (-=, sub_(), exp_()); compute new tensors"),
        )
    return result(cid, True)


def shape_text(shape):
    """'shape (n, q)' in the current language."""
    return _("shape {shape}").format(shape=tuple(shape))


def accuracy_tiers(cid, acc, what, hint):
    """The result of a run whose test accuracy, measured by the grader on the hidden images, is
    `acc`: full points from config.ACCURACY_TIERS' first threshold, that tier's share below."""
    from autograder import config
    from autograder.checks.registry import points_of

    top = config.ACCURACY_TIERS[0][0]
    for threshold, fraction in config.ACCURACY_TIERS:
        if acc >= threshold:
            if fraction == 1.0:
                return result(cid, True, test_accuracy=acc)
            res = report(
                cid,
                what,
                _("test accuracy >= {threshold}").format(threshold=top),
                _("{accuracy} (partial credit tier >= {threshold})").format(
                    accuracy=f"{acc:.4f}", threshold=threshold
                ),
                hint,
            )
            res.score = points_of(cid) * fraction
            res.details["test_accuracy"] = acc
            return res
    res = report(
        cid,
        what,
        _("test accuracy >= {threshold} (measured by the grader)").format(threshold=top),
        f"{acc:.4f}",
        hint,
    )
    res.details["test_accuracy"] = acc
    return res
