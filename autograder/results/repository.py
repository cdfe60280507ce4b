"""Where a submission came from (GitHub Classroom): the commit collected and what differs from the template.

``python -m autograder classroom collect`` writes ``repository.json`` beside the notebooks of each
student's assignment folder (``submitted/<student>/<assignment>/``): the repository, the commit
taken at the deadline, its time (also written as nbgrader's timestamp.txt, so lateness follows
from it) and ``differs_from_template``, the files and read-only cells of the student's repository
that differ from the assignment's template (``.github/``, the release helpers, read-only cells).
Grading copies the record into ``info["repository"]`` of every result, re-read on every run like
lateness; the class report and the terminal table flag the students it lists. It never changes a
score: the grader uses its own helpers and the release copy's read-only cells either way, and the
submission's fingerprint (what decides regrading) covers the notebooks only.
"""

from __future__ import annotations

import json
from pathlib import Path

REPOSITORY_FILE = "repository.json"
"""Written by ``classroom collect`` into the student's assignment folder."""

FIELDS = ("source", "github_username", "commit", "committed_at", "later_commits",
          "differs_from_template")  # fmt: skip
"""What a result keeps of the record (info["repository"])."""


def read(folder) -> dict | None:
    """The record of the assignment folder `folder` (None when there is none or it is unreadable)."""
    try:
        data = json.loads((Path(folder) / REPOSITORY_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def apply(result, folder) -> bool:
    """Record the assignment folder's repository record in `result.info`; whether it changed."""
    record = read(folder)
    kept = {k: record.get(k) for k in FIELDS} if record else None
    before = result.info.get("repository")
    if kept is None:
        result.info.pop("repository", None)
    else:
        result.info["repository"] = kept
    return before != kept


def differences(result) -> list[str]:
    """What the student's repository changed of the template (empty: nothing, or not collected)."""
    record = (result.info or {}).get("repository") or {}
    found = record.get("differs_from_template") or []
    return [str(d) for d in found] if isinstance(found, list) else []


def table_notes(results) -> list[str]:
    """Lines for the terminal table: one per student whose repository differs from the template."""
    lines = []
    for r in sorted(results, key=lambda r: r.student):
        found = differences(r)
        if found:
            lines.append(f"  {r.student}: {'; '.join(found)}")
    if lines:
        lines.insert(0, "Repositories that differ from the template (the grade does not use them):")
    return lines
