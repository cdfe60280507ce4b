"""Collecting a class: every submission named on the command line, once, with clashing ids refused.

Used by ``grade`` (batch.py), ``shards list`` (shards.py) and the pytest plugin.
"""

from __future__ import annotations

from pathlib import Path

from autograder.results import store
from autograder.submissions.submission import Submission, find_submissions, is_class_root


class StudentClash(ValueError):
    """Two submissions would share one student id or one results folder."""


def collect(paths) -> list[Submission]:
    """All submissions named by `paths`; one folder named twice counts once.

    Raises StudentClash, naming both, when two different folders give one student id, or ids
    whose results folders would clash on a case-insensitive filesystem (store.clash_key).
    """
    return collect_class(paths)[0]


def collect_class(paths) -> tuple[list[Submission], bool]:
    """(submissions, whether `paths` include a whole class root such as nbgrader's submitted/)."""
    by_key: dict[str, Submission] = {}
    subs, whole = [], False
    for p in paths:
        found = find_submissions(Path(p))
        whole = whole or is_class_root(Path(p), found)
        for sub in found:
            key = store.clash_key(sub.student)
            other = by_key.get(key)
            if other is None:
                by_key[key] = sub
                subs.append(sub)
            elif other.folder.resolve() != sub.folder.resolve() or other.main != sub.main:
                raise StudentClash(
                    f"two submissions for one student: {other.student!r} ({other.folder}) and "
                    f"{sub.student!r} ({sub.folder}); rename or remove one before grading"
                )
    return subs, whole
