"""Grading one submission: find its files, extract its code, run every check in a worker, grade the quiz.

Its messages are written in the submission's language (its edition, or the --lang override): the
grading runs inside ``i18n.use(lang)``, and the result records the language in info["lang"]."""

from __future__ import annotations

import os
import time
import traceback
from pathlib import Path

from autograder import config, i18n
from autograder.checks import loop
from autograder.checks.outcome import CheckResult, SubmissionResult
from autograder.checks.registry import points_in_effect
from autograder.checks.status import submission_status
from autograder.i18n import N_, _
from autograder.submissions import reach
from autograder.submissions.notebook import MalformedNotebook, extract, read_notebook
from autograder.submissions.submission import Submission, release_notebook
from autograder.units import Unit
from autograder.units import get as unit_of

GRADER_FAILURES = (
    N_("the worker could not start: {error}"),
    N_("internal grader error ({error}); please tell your instructor"),
    "Found no NVIDIA driver",
    "no CUDA GPUs are available",
    "Torch not compiled with CUDA enabled",
    "CUDA driver version is insufficient",
)
"""Message fragments of a crash or error caused by the grader's machine (device, data, worker
start-up) and not by the student's code: such checks get status "grader_error". A template's
text before its first {placeholder} is looked for, in every language."""

CHECKS: list | None = None
"""When set, the (id, function) pairs grade_function_checks runs, in order, instead of the unit's
whole registry (tests narrow it)."""


def _checks(unit: Unit) -> list:
    """The (id, function) pairs graded for `unit`, in order."""
    return unit.registry.pairs if CHECKS is None else CHECKS


NOT_IMPLEMENTED_IN = (
    (N_("Calling {function} raised an error: {error}"), "error"),
    (N_("Got: {got}"), "got"),
)
"""Message lines (template, field) whose field starting with NotImplementedError means a blank function."""


def _markers() -> list[str]:
    """GRADER_FAILURES as they read in every language (a template's text before its first field)."""
    return [v.split("{")[0] for marker in GRADER_FAILURES for v in i18n.variants(marker)]


def _not_implemented(message: str) -> bool:
    """Whether a check's message shows a function raising NotImplementedError (in any language)."""
    for line in message.splitlines():
        for template, field in NOT_IMPLEMENTED_IN:
            values = i18n.parse(template, line)
            if values and values[field].startswith("NotImplementedError"):
                return True
    return False


def grader_failure(res: CheckResult) -> CheckResult:
    """`res` with status "grader_error" when its crash or error was the grader machine's fault."""
    if res.status in ("crashed", "error", "timeout") and any(
        marker in res.message for marker in _markers()
    ):
        res.status, res.score = "grader_error", 0.0
        res.message = _(
            "the grader failed here, not your code; your instructor will regrade this "
            "submission.\n{message}"
        ).format(message=res.message)
    return res


def not_implemented_hint(res: CheckResult, unit: Unit | None = None) -> CheckResult:
    """`res` with a hint that fits a blank function (one that raises NotImplementedError); a
    check that runs other functions too names them (the unit's OTHER_FUNCTIONS)."""
    if res.passed or not _not_implemented(res.message):
        return res
    others = (unit or unit_of()).other_functions
    who = _(others[res.check_id]) if res.check_id in others else res.function
    hint = _("Hint: {hint}").format(
        hint=_(
            "not implemented yet: {function} raises NotImplementedError; replace "
            "`raise NotImplementedError()` with your code"
        ).format(function=who)
    )
    lines = [ln for ln in res.message.splitlines() if i18n.parse("Hint: {hint}", ln) is None]
    res.message = "\n".join([*lines, hint])
    return res


def _blanket(unit: Unit, status, message):
    """Every function check of `unit` with the same status (nothing could be run)."""
    points = unit.registry.points
    return [CheckResult(cid, 0.0, points[cid], status, message) for cid, _ in _checks(unit)]


def grade_function_checks(
    main: Path, device="cpu", threads=1, limits=config.LIMITS, assignment=config.ASSIGNMENT
):
    """Run every function check on the notebook at `main` in a fresh worker; return (results, info).

    `assignment` names the edition: its unit's checks are run, and its release supplies the
    read-only cells."""
    from autograder.sandbox.runner import WorkerCaller

    unit = unit_of(assignment)
    info = {"warnings": [], "peak_rss": 0, "worker_starts": 0}
    if not main.exists():
        missing = _("{name} was not found in the submission folder").format(name=main.name)
        return _blanket(unit, "missing", missing), info
    try:
        student_nb, release_nb = read_notebook(main), release_notebook(assignment)
        ext = extract(student_nb, release_nb, assignment)
    except MalformedNotebook as err:
        return _blanket(unit, "malformed", str(err)), info
    info["warnings"] = list(ext.warnings)
    violations = reach.scan_notebook(student_nb, release_nb, assignment)
    if violations:  # nothing of it runs: the harness would share its interpreter (reach.py)
        info["reach"] = [(v.where, v.line, v.rule, v.code) for v in violations]
        return _blanket(unit, "forbidden", reach.refusal(violations)), info
    dead = stubs(ext, unit)
    caller = WorkerCaller(ext, device=device, threads=threads, limits=limits, assignment=assignment,
                          early_runs=early_runs(ext, dead, unit))  # fmt: skip
    registry = unit.registry
    results = []
    try:
        results += loop.run(_checks(unit), caller, needs=registry.needs, missing=ext.missing,
                            forbidden=ext.forbidden, share_forbidden=True,
                            on_exception=_internal_error, dead=dead, points=registry.points)  # fmt: skip
    finally:
        info["peak_rss"] = caller.peak_rss
        info["worker_starts"] = caller.starts
        if caller.early_started:
            info["early_runs"] = caller.early_started
        info["confinement"] = caller.confinement or {"confined": False}
        info["warnings"] += caller.load_errors
        caller.close()
    results = [not_implemented_hint(grader_failure(res), unit) for res in results]
    # A built-in found while running one check costs the function's other checks too.
    for res in results:
        func = res.function
        if func in dead and dead[func][0] == "forbidden" and res.status == "passed":
            res.score, res.status, res.message = 0.0, "forbidden", dead[func][1]
    return results, info


def early_runs(ext, dead=None, unit: Unit | None = None) -> list[str]:
    """The training runs to start early for this code: those of the unit's checks graded (CHECKS)
    that can run (their functions found, implemented and free of built-ins), in grading order."""
    unit = unit or unit_of()
    registry = unit.registry
    chosen = {cid for cid, _run in _checks(unit)}
    with points_in_effect(registry.points):
        return [check.early_run for check in registry
                if check.early_run and check.id in chosen
                and loop.unrunnable(check.id, ext.missing, ext.forbidden, dict(dead or {}),
                                    needs=registry.needs) is None]  # fmt: skip


def stubs(ext, unit: Unit | None = None) -> dict[str, tuple[str, str]]:
    """Graded functions still the release's stub (their last definition only raises
    NotImplementedError): function -> ("error", why), for checks.loop's `dead`. Their checks are
    not run, whatever the rest of the code does: a stub earns nothing."""
    names = reach.unimplemented(ext.student_source, (unit or unit_of()).graded_functions)
    why = N_(
        "not implemented yet: {function} raises NotImplementedError; replace "
        "`raise NotImplementedError()` with your code"
    )
    return {name: ("error", _(why).format(function=name)) for name in names}


def _internal_error(cid, points, err) -> CheckResult:
    """A grader bug in one check must not stop the class: grader_error, with the traceback."""
    message = _("internal grader error ({error}); please tell your instructor").format(
        error=f"{type(err).__name__}: {err}"
    )
    return CheckResult(cid, 0.0, points, "grader_error", message, {"traceback": traceback.format_exc()[-3000:]})  # fmt: skip


def grade_submission(
    sub: Submission, device="cpu", threads=1, limits=config.LIMITS, lang=None
) -> SubmissionResult:
    """Grade one submission: function checks in a worker, quiz answers read statically.

    Messages are in `lang`, by default the submission's: i18n.language_for its edition (the
    --lang override, else its notebook's metadata, else its assignment folder's)."""
    lang = i18n.normalise(lang) if lang else i18n.language_for(sub.edition, sub.main)
    with i18n.use(lang):
        result = _grade_submission(sub, device, threads, limits)
    result.info["lang"] = lang
    result.info["assignment"] = sub.assignment  # the edition handed in (nbgrader's assignment)
    return result


def _grade_submission(sub: Submission, device, threads, limits) -> SubmissionResult:
    """grade_submission in the current language."""
    unit = unit_of(sub.assignment)
    quiz = unit.quiz if unit.quiz_notebook else None
    questions = quiz.QUESTIONS if quiz else ()
    start = time.monotonic()
    if sub.problem:
        checks, info = _blanket(unit, "malformed", sub.problem), {"warnings": []}
    else:
        checks, info = grade_function_checks(sub.main, device, threads, limits, sub.assignment)
    info["warnings"] = list(sub.warnings) + list(info["warnings"])
    if sub.problem:
        quiz_results = [CheckResult(q.check_id, 0.0, float(config.QUIZ.points_per_question), "malformed", sub.problem)
                        for q in questions]  # fmt: skip
    elif quiz is None:
        quiz_results = []
    elif sub.quiz.exists():
        quiz_results = quiz.grade_quiz(sub.quiz)
    else:
        quiz_results = [
            CheckResult(q.check_id, 0.0, float(config.QUIZ.points_per_question), "missing",
                        _("{name} was not found in the submission folder").format(name=unit.quiz_notebook))
            for q in questions
        ]  # fmt: skip
    all_checks = checks + quiz_results
    # A malformed quiz *answer* is that question's status; only an unreadable quiz notebook (every
    # answer malformed) makes the whole submission malformed.
    statuses = {c.status for c in checks}
    if quiz_results and all(c.status == "malformed" for c in quiz_results):
        statuses.add("malformed")
    status = submission_status(statuses)
    if status == "ok" and all(c.status == "missing" for c in checks):
        status = "missing"
    message = "; ".join(info["warnings"][:5])
    result = SubmissionResult(
        sub.student, all_checks, status, message, round(time.monotonic() - start, 3), device
    )
    result.info = {**info, "fingerprint": sub.fingerprint(), "pid": os.getpid()}
    return result
