"""The one loop that runs checks, for both paths: the worker grader (grading/grader.py, which
``grade``, the pytest plugin, Gradescope and ``nbgrader autograde`` all use) and the self-check
in the student's own kernel (selfcheck.py, inprocess.py).

A check is a function ``check(caller) -> CheckResult``; the caller says where student code runs
(a sandboxed worker, or the kernel itself)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from types import MappingProxyType

from autograder.checks.outcome import CheckResult
from autograder.checks.registry import points_in_effect, points_of
from autograder.i18n import _


class Aborted(Exception):
    """The student's code could not answer (worker timed out, crashed, ran out of memory)."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status, self.message = status, message


def abort_scope(check_id: str, needs: dict) -> str:
    """Which later checks a worker failure in `check_id` also costs: its function's, or only its own."""
    return check_id if check_id in needs else check_id.split(".")[0]


def _via(func, f, why, own="{why}"):
    """`why` check `func` cannot run, said of `f` (its own function: the template `own`)."""
    if f == func:
        return own.format(why=why)
    return _("not run: this check also runs {function}, and {why}").format(function=f, why=why)


def unrunnable(check_id, missing, forbidden, dead=None, needs=None):
    """The zero-point result of a check that cannot run, or None when it can.

    It cannot run when its function, or one it also runs (`needs`: check id -> functions), is
    missing, uses a built-in it must implement (forbidden: function -> names), or already hung or
    crashed (dead: function -> (status, message)).
    """
    dead, needs = dead or {}, needs or {}
    func = check_id.split(".")[0]
    points = points_of(check_id)  # a practice check earns nothing
    for f in (func, *needs.get(check_id, ())):
        if f in missing:
            return CheckResult(check_id, 0.0, points, "missing", _via(func, f, missing[f]))
        if f in forbidden:
            why = _(
                "{function} uses {names}, which it must implement from scratch; this costs all "
                "of {function}'s checks"
            ).format(function=f, names=", ".join(forbidden[f]))
            return CheckResult(check_id, 0.0, points, "forbidden", _via(func, f, why))
        if f in dead:
            status, message = dead[f]
            why = _via(func, f, message, _("not run: {why}"))
            return CheckResult(check_id, 0.0, points, status, why)
    return None


def run(
    checks: Iterable[tuple[str, Callable]],
    caller,
    *,
    needs: dict,
    missing=None,
    forbidden=None,
    share_forbidden: bool = False,
    on_exception: Callable[[str, float, Exception], CheckResult] | None = None,
    dead: dict | None = None,
    points: Mapping[str, float] | None = None,
) -> Iterator[CheckResult]:
    """Run `checks` ((id, function) pairs, in order) through `caller`; yield one result each.

    A check that cannot run yields its zero-point result (unrunnable). A worker failure (Aborted)
    is the check's result and costs the later checks in its abort_scope. With `share_forbidden`, a
    forbidden built-in found while a check ran costs its function's later checks too. An exception
    from a check itself goes to `on_exception(check_id, points, err)`, or is raised when None.
    `dead` (function or check id -> (status, message)), when given, is filled as checks fail, for
    the caller to read afterwards.

    A check function with a ``settle`` attribute, ``settle(result, results)``, words its result
    from the other checks' outcomes: it is called, in this (the grader's) process, once every
    check has run, with a read-only mapping check id -> CheckResult of the whole run; its result
    and those after it are yielded then, in order.

    `points` (check id -> points, the unit's registry.points) is in effect while each check and
    settle runs (registry.points_in_effect); without it each id's unit is looked up.
    """
    if points is not None:
        yield from _with_points(
            points, run(checks, caller, needs=needs, missing=missing, forbidden=forbidden,
                        share_forbidden=share_forbidden, on_exception=on_exception, dead=dead)
        )  # fmt: skip
        return
    missing, forbidden = missing or {}, forbidden or {}
    dead = {} if dead is None else dead
    done: dict[str, CheckResult] = {}
    held: list[tuple[CheckResult, Callable | None]] = []  # from the first result to settle on
    for res, settle in _run(checks, caller, needs, missing, forbidden, share_forbidden,
                            on_exception, dead):  # fmt: skip
        done[res.check_id] = res
        if settle is None and not held:
            yield res
        else:
            held.append((res, settle))
    for res, settle in held:
        if settle is not None:
            try:
                settle(res, MappingProxyType(done))
            except Exception as err:
                if on_exception is None:
                    raise
                res = on_exception(res.check_id, res.max_score, err)
        yield res


def _with_points(points, results):
    """Yield from generator `results`, each step within points_in_effect(points) (a generator's
    steps run in its consumer's context, so the context is set around each one)."""
    while True:
        with points_in_effect(points):
            try:
                res = next(results)
            except StopIteration:
                return
        yield res


def _run(checks, caller, needs, missing, forbidden, share_forbidden, on_exception, dead):
    """run's loop: (result, the check's settle or None) for each check, as it runs."""
    for cid, check in checks:
        func = cid.split(".")[0]
        points = points_of(cid)  # a practice check earns nothing
        skipped = unrunnable(cid, missing, forbidden, dead, needs)
        if skipped is not None:
            yield skipped, None
            continue
        try:
            res = check(caller)
        except Aborted as err:
            res = CheckResult(cid, 0.0, points, err.status, err.message)
            dead[abort_scope(cid, needs)] = (
                err.status,
                _("an earlier {function} check ended with {status}: {message}").format(
                    function=func, status=err.status, message=err.message
                ),
            )
        except Exception as err:
            if on_exception is None:
                raise
            res = on_exception(cid, points, err)
        if share_forbidden and res.status == "forbidden":
            dead.setdefault(func, ("forbidden", res.message))
        yield res, getattr(check, "settle", None)
