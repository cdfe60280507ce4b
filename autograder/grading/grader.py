"""Grading one submission: find its files, extract its code, run every check in a worker, grade the quiz."""

from __future__ import annotations

import functools
import hashlib
import os
import re
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from autograder import config
from autograder.results.outcome import CheckResult, SubmissionResult
from autograder.submissions.notebook import (
    AmbiguousNotebook,
    MalformedNotebook,
    extract,
    find_notebook,
    read_notebook,
)
from autograder.units.softmax_regression.checks import CHECKS, Aborted, abort_scope, unrunnable

STATUS_PRIORITY = ("grader_error", "malformed", "forbidden", "memory", "timeout", "crashed")
"""A submission's status is the first of these any of its checks has, else "ok"."""

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

NOT_IMPLEMENTED = re.compile(r"(raised an error: |^Got: )NotImplementedError", re.M)


@dataclass(frozen=True)
class Submission:
    """One student's files for this assignment."""

    student: str
    folder: Path
    main: Path
    quiz: Path
    warnings: tuple[str, ...] = ()
    """Found by content under another name, ... (shown in the feedback)."""
    problem: str | None = None
    """Why the notebooks cannot be graded at all (two candidates for one notebook)."""
    assignment: str = config.ASSIGNMENT
    """The edition's nbgrader assignment (a key of config.EDITIONS)."""

    @property
    def edition(self) -> str:
        """The language of the notebooks ("en", "zh_CN"), from config.EDITIONS."""
        return config.EDITIONS[self.assignment]

    def fingerprint(self) -> str:
        """Hash of the submitted files and the grading policy (a rerun skips unchanged work)."""
        h = hashlib.sha256(policy_hash().encode())
        for path in (self.main, self.quiz):
            h.update(path.name.encode())
            try:
                with open(path, "rb") as fh:
                    for block in iter(lambda: fh.read(1 << 20), b""):
                        h.update(block)
            except OSError:
                h.update(b"<absent>")
        return h.hexdigest()[:24]


@functools.cache
def policy_hash() -> str:
    """Hash of the grader's code and config: results from another policy are not reused."""
    h = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")) + sorted(
        Path(__file__).parent.glob("*.json")
    ):
        h.update(path.read_bytes())
    for assignment in config.EDITIONS:
        release = _release_dir(assignment) / config.MAIN_NOTEBOOK
        if release.is_file():
            h.update(release.read_bytes())
    return h.hexdigest()[:16]


def student_id(name: str) -> str:
    """The student's id: their folder's name as nbgrader keeps it (any Unicode name).

    File names derived from it go through store.folder_name (safe, reversible, collision-free).
    """
    return name


def submission(student: str, folder: Path, main: Path | None = None) -> Submission:
    """The Submission of `student` in assignment folder `folder`; a notebook saved under another
    name is found by its content (notebook.find_notebook), with a warning for the feedback."""
    warnings, problem = [], None
    assignment = folder.name if folder.name in config.EDITIONS else config.ASSIGNMENT
    quiz = folder / config.QUIZ_NOTEBOOK
    if main is None:
        main = folder / config.MAIN_NOTEBOOK
        try:
            main, found = find_notebook(folder, config.MAIN_NOTEBOOK, release_notebook(assignment),
                                        taken={config.QUIZ_NOTEBOOK})  # fmt: skip
            warnings += found
        except AmbiguousNotebook as err:
            problem = str(err)
    try:
        quiz, found = find_notebook(
            folder, config.QUIZ_NOTEBOOK, release_quiz(assignment), taken={main.name}
        )
        warnings += found
    except AmbiguousNotebook as err:
        problem = "; ".join(p for p in (problem, str(err)) if p)
    return Submission(student_id(student), folder, main, quiz, tuple(warnings), problem, assignment)


def find_submissions(path: Path) -> list[Submission]:
    """Submissions under `path`: a notebook, a student's assignment folder, or nbgrader's submitted/ root."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder")
    if path.is_file():
        folder = path.parent
        student = folder.parent.name if folder.name in config.EDITIONS else path.stem
        return [submission(student, folder, main=path)]
    if path.name in config.EDITIONS or (path / config.MAIN_NOTEBOOK).exists():
        student = path.parent.name if path.name in config.EDITIONS else path.name
        return [submission(student, path)]
    if any((path / assignment).is_dir() for assignment in config.EDITIONS):
        return [submission(path.name, assignment_folder(path))]
    subs = []
    for child in sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith(".")):
        subs.append(submission(child.name, assignment_folder(child)))
    if not subs:
        raise FileNotFoundError(
            f"{path}: no submissions found (expected <student>/{config.ASSIGNMENT}/{config.MAIN_NOTEBOOK})"
        )
    return subs


def is_class_root(path: Path, subs: list[Submission]) -> bool:
    """Whether `path` is a whole class (nbgrader's submitted/): every submission is a child of it."""
    root = Path(path).resolve()
    return (
        bool(subs)
        and Path(path).is_dir()
        and all(sub.folder.parent.parent.resolve() == root for sub in subs)
    )


def _release_dir(assignment: str) -> Path:
    """The release folder of an edition (config.RELEASE_DIR for the English one)."""
    return config.RELEASE_DIR if assignment == config.ASSIGNMENT else config.release_dir(assignment)


def assignment_folder(student_folder: Path) -> Path:
    """A student's assignment folder: the first edition (config.EDITIONS) they have, else English."""
    for assignment in config.EDITIONS:
        if (student_folder / assignment).is_dir():
            return student_folder / assignment
    return student_folder / config.ASSIGNMENT


@functools.cache
def release_notebook(assignment: str = config.ASSIGNMENT):
    """The release copy of the edition's main notebook (read-only cells come from here)."""
    return read_notebook(_release_dir(assignment) / config.MAIN_NOTEBOOK)


@functools.cache
def release_quiz(assignment: str = config.ASSIGNMENT):
    """The release copy of the edition's quiz notebook (its grade_ids recognise a renamed quiz)."""
    try:
        return read_notebook(_release_dir(assignment) / config.QUIZ_NOTEBOOK)
    except MalformedNotebook:
        return {"cells": []}


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
        for cid, check in CHECKS:
            func = cid.split(".")[0]
            points = float(config.POINTS[cid])
            skipped = unrunnable(cid, ext.missing, ext.forbidden, dead)
            if skipped is not None:
                results.append(skipped)
            else:
                try:
                    res = check(caller)
                except Aborted as err:
                    res = CheckResult(cid, 0.0, points, err.status, err.message)
                    dead[abort_scope(cid)] = (
                        err.status,
                        f"an earlier {func} check ended with {err.status}: {err.message}",
                    )
                except Exception as err:  # noqa: BLE001 - a grader bug must not stop the class
                    res = CheckResult(cid, 0.0, points, "grader_error", f"internal grader error ({type(err).__name__}: {err}); please tell your instructor",
                                      {"traceback": traceback.format_exc()[-3000:]})  # fmt: skip
                if res.status == "forbidden":
                    dead.setdefault(func, ("forbidden", res.message))
                results.append(res)
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
    status = next((s for s in STATUS_PRIORITY if s in statuses), "ok")
    if status == "ok" and all(c.status == "missing" for c in checks):
        status = "missing"
    message = "; ".join(info["warnings"][:5])
    result = SubmissionResult(
        sub.student, all_checks, status, message, round(time.monotonic() - start, 3), device
    )
    result.info = {**info, "fingerprint": sub.fingerprint(), "pid": os.getpid()}
    return result
