"""A class's submissions: finding each student's notebooks (nbgrader's layout or any folder),
their ids, and the fingerprint that tells a rerun what is unchanged."""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path

from autograder import config
from autograder.submissions.notebook import (
    AmbiguousNotebook,
    MalformedNotebook,
    find_notebook,
    read_notebook,
)

PACKAGE_DIR = Path(__file__).resolve().parents[1]
"""The grader's package (autograder/): every file under it is part of the grading policy."""


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
    """Hash of the grader's code, config and message catalogues: results from another policy (or
    with messages in other words) are not reused."""
    h = hashlib.sha256()
    for pattern in ("*.py", "*.json", "*.mo"):
        for path in sorted(PACKAGE_DIR.rglob(pattern)):
            if "__pycache__" not in path.parts:
                h.update(path.relative_to(PACKAGE_DIR).as_posix().encode())
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
