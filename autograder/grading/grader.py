"""Grading one submission: find its files, extract its code, run every check in a worker, grade the quiz."""

from __future__ import annotations

import os
import re
import time
import traceback
from pathlib import Path

from autograder import config
from autograder.checks import loop
from autograder.checks.outcome import CheckResult, SubmissionResult
from autograder.checks.status import submission_status
from autograder.submissions.notebook import MalformedNotebook, extract, read_notebook
from autograder.submissions.submission import Submission, release_notebook
from autograder.units.softmax_regression.checks import REGISTRY

GRADER_FAILURES = (
    "the worker could not start:",
    "internal grader error",
    "Found no NVIDIA driver",
    "no CUDA GPUs are available",
    "Torch not compiled with CUDA enabled",
    "CUDA driver version is insufficient",
)
"""Message fragments of a crash or error caused by the grader's machine (device, data, worker
start-up) and not by the student's code: such checks get status "grader_error"."""

OTHER_FUNCTIONS = {
    "train_ch3.end_to_end": "softmax, cross_entropy, accuracy or train_ch3",
}
"""Checks that call more than their own function (for the not-implemented hint)."""

CHECKS = REGISTRY.pairs
"""The checks grade_function_checks runs, in order (the unit's registry; tests narrow it)."""

NOT_IMPLEMENTED = re.compile(r"(raised an error: |^Got: )NotImplementedError", re.M)


def grader_failure(res: CheckResult) -> CheckResult:
    """`res` with status "grader_error" when its crash or error was the grader machine's fault."""
    if res.status in ("crashed", "error", "timeout") and any(
        marker in res.message for marker in GRADER_FAILURES
    ):
        res.status, res.score = "grader_error", 0.0
        res.message = (
            "the grader failed here, not your code; your instructor will regrade this "
            f"submission.\n{res.message}"
        )
    return res


def not_implemented_hint(res: CheckResult) -> CheckResult:
    """`res` with a hint that fits a blank function (one that raises NotImplementedError)."""
    if res.passed or not NOT_IMPLEMENTED.search(res.message):
        return res
    who = OTHER_FUNCTIONS.get(res.check_id, res.function)
    hint = (
        f"Hint: not implemented yet: {who} raises NotImplementedError; replace "
        "`raise NotImplementedError()` with your code"
    )
    lines = [ln for ln in res.message.splitlines() if not ln.startswith("Hint:")]
    res.message = "\n".join([*lines, hint])
    return res


def _blanket(status, message):
    """Every function check with the same status (nothing could be run)."""
    return [CheckResult(cid, 0.0, float(config.POINTS[cid]), status, message) for cid, _ in CHECKS]


def grade_function_checks(
    main: Path, device="cpu", threads=1, limits=config.LIMITS, assignment=config.ASSIGNMENT
):
    """Run every function check on the notebook at `main` in a fresh worker; return (results, info).

    `assignment` names the edition whose release supplies the read-only cells."""
    from autograder.sandbox.runner import WorkerCaller

    info = {"warnings": [], "peak_rss": 0, "worker_starts": 0}
    if not main.exists():
        return _blanket("missing", f"{main.name} was not found in the submission folder"), info
    try:
        ext = extract(read_notebook(main), release_notebook(assignment))
    except MalformedNotebook as err:
        return _blanket("malformed", str(err)), info
    info["warnings"] = list(ext.warnings)
    caller = WorkerCaller(ext, device=device, threads=threads, limits=limits,
                          release_dir=config.release_dir(assignment))  # fmt: skip
    dead: dict[str, tuple[str, str]] = {}
    results = []
    try:
        results += loop.run(CHECKS, caller, needs=REGISTRY.needs, missing=ext.missing, forbidden=ext.forbidden,
                            share_forbidden=True, on_exception=_internal_error, dead=dead)  # fmt: skip
    finally:
        info["peak_rss"] = caller.peak_rss
        info["worker_starts"] = caller.starts
        info["confinement"] = caller.confinement or {"confined": False}
        info["warnings"] += caller.load_errors
        caller.close()
    results = [not_implemented_hint(grader_failure(res)) for res in results]
    # A built-in found while running one check costs the function's other checks too.
    for res in results:
        func = res.function
        if func in dead and dead[func][0] == "forbidden" and res.status == "passed":
            res.score, res.status, res.message = 0.0, "forbidden", dead[func][1]
    return results, info


def _internal_error(cid, points, err) -> CheckResult:
    """A grader bug in one check must not stop the class: grader_error, with the traceback."""
    return CheckResult(cid, 0.0, points, "grader_error", f"internal grader error ({type(err).__name__}: {err}); please tell your instructor",
                       {"traceback": traceback.format_exc()[-3000:]})  # fmt: skip


def grade_submission(
    sub: Submission, device="cpu", threads=1, limits=config.LIMITS
) -> SubmissionResult:
    """Grade one submission: function checks in a worker, quiz answers read statically."""
    from autograder.units.softmax_regression import quiz

    start = time.monotonic()
    if sub.problem:
        checks, info = _blanket("malformed", sub.problem), {"warnings": []}
    else:
        checks, info = grade_function_checks(sub.main, device, threads, limits, sub.assignment)
    info["warnings"] = list(sub.warnings) + list(info["warnings"])
    if sub.problem:
        quiz_results = [CheckResult(q.check_id, 0.0, float(config.QUIZ.points_per_question), "malformed", sub.problem)
                        for q in quiz.QUESTIONS]  # fmt: skip
    elif sub.quiz.exists():
        quiz_results = quiz.grade_quiz(sub.quiz)
    else:
        quiz_results = [
            CheckResult(q.check_id, 0.0, float(config.QUIZ.points_per_question), "missing", f"{config.QUIZ_NOTEBOOK} was not found in the submission folder")
            for q in quiz.QUESTIONS
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
