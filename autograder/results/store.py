"""The results folder is the class: every <student>/results.json, named safely, read and rebuilt under a lock.

A student's id is the name of their folder in nbgrader's ``submitted/`` (any Unicode name, as
nbgrader keeps it). Files in the results folder are named by ``folder_name``: letters and digits
of every script, ``_`` and ``-`` are kept, every other character is written as ``%XX`` (its UTF-8
bytes), so the mapping is safe on every filesystem, reversible (``student_of``) and
collision-free. Tables, grades.csv, results, feedback and the report show the id itself.

After every run the class files (``grades.csv``, ``report.html``) are rebuilt from every result in
the folder (``rebuild``), under an exclusive lock on ``DIR/.class.lock``: each run writes its
students' results first and rebuilds afterwards, so the last rebuild to take the lock sees every
result and two runs into one folder lose nothing. Used by ``grade``, ``report``, ``merge`` and
``gradebook-export``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import unicodedata
import urllib.parse
from pathlib import Path

from autograder.checks.outcome import SubmissionResult
from autograder.results import exports

LOCK_FILE = ".class.lock"
"""Taken (flock, exclusive) while the class files are rebuilt."""

DROPPED = ".dropped"
"""Results of students dropped from the class are moved here (kept, never read as the class)."""


class StoreError(ValueError):
    """A results folder that cannot be read as a class (strict reading)."""


def folder_name(student: str) -> str:
    """The file name of a student's results folder: safe, reversible, collision-free."""
    out = []
    for i, ch in enumerate(student):
        if ch.isalnum() and unicodedata.category(ch)[0] in "LN" or ch in "_-":
            out.append(ch)
        elif ch == "." and 0 < i < len(student) - 1:
            out.append(ch)
        else:
            out.append("".join(f"%{b:02X}" for b in ch.encode("utf-8")))
    return "".join(out) or "%00"


def student_of(name: str) -> str:
    """The student id a results folder's name stands for (the inverse of ``folder_name``)."""
    return "" if name == "%00" else urllib.parse.unquote(name, errors="strict")


def clash_key(student: str) -> str:
    """Ids with one key cannot have folders side by side on every filesystem (case, Unicode forms)."""
    return unicodedata.normalize(
        "NFC", folder_name(unicodedata.normalize("NFC", student))
    ).casefold()


def result_dir(out_dir, student: str) -> Path:
    """DIR/<folder_name(student)>."""
    return Path(out_dir) / folder_name(student)


def read(out_dir, strict: bool = False) -> dict[str, SubmissionResult]:
    """student -> result of every DIR/<name>/results.json.

    strict: an unreadable results.json, or one whose student does not belong in its folder, is a
    StoreError (merge); otherwise it is skipped (report, grade).
    """
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        if strict:
            raise StoreError(f"{out_dir}: no such results folder")
        return {}
    found: dict[str, SubmissionResult] = {}
    for path in sorted(out_dir.glob("*/results.json")):
        result = exports.read_result(path)
        problem = None
        if result is None:
            problem = f"{path}: unreadable results.json"
        elif folder_name(result.student) != path.parent.name:
            problem = (
                f"{path}: holds student {result.student!r}, not {student_of(path.parent.name)!r}"
            )
        if problem:
            if strict:
                raise StoreError(problem)
            continue
        found[result.student] = result
    return found


def load(out_dir) -> list[SubmissionResult]:
    """Every readable result in the folder, by student."""
    return sorted(read(out_dir).values(), key=lambda r: r.student)


@contextlib.contextmanager
def locked(out_dir):
    """Hold the folder's class lock (exclusive, across processes) for the duration of the block."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no flock; runs must not overlap there
        yield
        return
    with open(out_dir / LOCK_FILE, "a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def rebuild(out_dir, bom: bool | None = None, report: bool = True) -> list[SubmissionResult]:
    """Rewrite DIR/grades.csv (and DIR/report.html) from every result in DIR; return them all.

    bom: write grades.csv with a UTF-8 byte-order mark (Excel); None keeps what the file had.
    """
    with locked(out_dir):
        results = load(out_dir)
        exports.write_grades(out_dir, results, bom=bom)
        if report:
            from autograder.results.report import write_report

            write_report(out_dir, results)
    return results


def write(out_dir, result: SubmissionResult) -> Path:
    """Write one student's results.json atomically (see exports.write_result)."""
    return exports.write_result(out_dir, result)


def drop(out_dir, student: str) -> Path:
    """Move a student's results out of the class into DIR/.dropped/ (kept, not read); return it."""
    source = result_dir(out_dir, student)
    target = Path(out_dir) / DROPPED / source.name
    if target.exists():
        shutil.rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(source, target)
    return target
