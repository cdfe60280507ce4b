"""The one list of statuses: a check's or a submission's, with its priority, whether the class
report lists it as a grading problem, and the words the feedback shows for it.

A check's status: passed: full points; failed: wrong result; error: the student's code raised;
timeout: a time limit was hit; crashed: the worker process died; memory: the memory cap was hit;
forbidden: a built-in the function must implement itself, or tampering; missing: the function or
answer is not in the notebook; malformed: the notebook or answer could not be read; grader_error:
the grader itself failed (its device, data or worker start-up), never the student's result: not
reused by a rerun, regraded. A submission's status is "ok" unless something other than a wrong
answer happened (PRIORITY), or "missing" when every function check is.
"""

from __future__ import annotations

from dataclasses import dataclass

from autograder.i18n import N_, _


@dataclass(frozen=True)
class Status:
    name: str
    words: str | None = None
    """What the feedback says after a submission's status (None: the name itself); an N_() msgid."""
    problem: bool = False
    """Listed as a grading problem in the class report (per submission or per check)."""
    rank: int | None = None
    """A submission's status is the lowest-ranked status any of its checks has, else "ok"."""


STATUSES = (
    Status(
        "grader_error",
        N_("the grader failed, not your code; your instructor will regrade it"),
        True,
        0,
    ),
    Status("malformed", N_("a notebook or an answer could not be read"), True, 1),
    Status("forbidden", N_("a forbidden built-in was used"), True, 2),
    Status("memory", N_("the memory limit was reached"), True, 3),
    Status("timeout", N_("a time limit was reached"), True, 4),
    Status("crashed", N_("the grading process crashed"), True, 5),
    Status("missing", N_("the notebook was not found")),
    Status("ok", N_("graded")),
    Status("passed"),
    Status("failed"),
    Status("error"),
)
BY_NAME = {s.name: s for s in STATUSES}

PRIORITY = tuple(
    s.name for s in sorted((s for s in STATUSES if s.rank is not None), key=lambda s: s.rank)
)
"""Statuses that decide a submission's status, first wins."""

PROBLEMS = frozenset(s.name for s in STATUSES if s.problem)


def words(name: str) -> str:
    """The feedback's words for status `name`, in the current language."""
    status = BY_NAME.get(name)
    return _(status.words) if status and status.words else name


def submission_status(statuses) -> str:
    """The first status of PRIORITY among `statuses`, else "ok"."""
    return next((s for s in PRIORITY if s in statuses), "ok")
