"""A class's submissions: finding each student's notebooks (nbgrader's layout or any folder),
their ids, and the fingerprint that tells a rerun what is unchanged.

Which notebooks an assignment has is its unit's (``autograder.units.get(assignment)``:
main_notebook, quiz_notebook, None for a unit without a quiz); an assignment folder is recognised
by its name (a key of config.EDITIONS) or by the main notebook of any registered assignment."""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from pathlib import Path

from autograder import config, units
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
    quiz: Path | None
    """The quiz notebook (None: the assignment's unit has no quiz)."""
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
        for path in (p for p in (self.main, self.quiz) if p is not None):
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
        release = _release_dir(assignment) / units.get(assignment).main_notebook
        if release.is_file():
            h.update(release.read_bytes())
    return h.hexdigest()[:16]


def student_id(name: str) -> str:
    """The student's id: their folder's name as nbgrader keeps it (any Unicode name).

    File names derived from it go through store.folder_name (safe, reversible, collision-free).
    """
    return name


def assignment_of(folder: Path, main: Path | None = None) -> str:
    """The assignment of a submission folder: its name when it is one (config.EDITIONS), else the
    assignment whose main notebook `main` is named as (or the folder holds; English editions first:
    the registration's order), else config.ASSIGNMENT."""
    folder = Path(folder)
    if folder.name in config.EDITIONS:
        return folder.name
    order = list(dict.fromkeys([config.ASSIGNMENT, *config.EDITIONS]))
    notebooks = {a: units.get(a).main_notebook for a in order}
    if main is not None:
        named = [a for a in order if notebooks[a] == Path(main).name]
        if named:
            return named[0]
    return next((a for a in order if (folder / notebooks[a]).exists()), config.ASSIGNMENT)


def submission(
    student: str, folder: Path, main: Path | None = None, assignment: str | None = None
) -> Submission:
    """The Submission of `student` in assignment folder `folder` of `assignment` (default:
    assignment_of the folder); a notebook saved under another name is found by its content
    (notebook.find_notebook), with a warning for the feedback."""
    warnings, problem = [], None
    assignment = assignment or assignment_of(folder, main)
    unit = units.get(assignment)
    quiz_name = unit.quiz_notebook
    quiz = folder / quiz_name if quiz_name else None
    if main is None:
        main = folder / unit.main_notebook
        try:
            main, found = find_notebook(folder, unit.main_notebook, release_notebook(assignment),
                                        taken={quiz_name} - {None})  # fmt: skip
            warnings += found
        except AmbiguousNotebook as err:
            problem = str(err)
    if quiz_name:
        try:
            quiz, found = find_notebook(
                folder, quiz_name, release_quiz(assignment), taken={main.name}
            )
            warnings += found
        except AmbiguousNotebook as err:
            problem = "; ".join(p for p in (problem, str(err)) if p)
    return Submission(student_id(student), folder, main, quiz, tuple(warnings), problem, assignment)


def _editions(assignment: str | None) -> list[str]:
    """The assignments a search looks for: the editions of `assignment`'s unit, else every one."""
    return units.assignments_of(units.get(assignment)) if assignment else list(config.EDITIONS)


def is_assignment_folder(path: Path, assignment: str | None = None) -> bool:
    """Whether `path` is one student's assignment folder: named as an edition, or holding the main
    notebook of one (of `assignment`'s unit when given, else of any registered assignment)."""
    path = Path(path)
    editions = _editions(assignment)
    return path.name in editions or any(
        (path / units.get(a).main_notebook).exists() for a in editions
    )


def find_submissions(path: Path, assignment: str | None = None) -> list[Submission]:
    """Submissions under `path`: a notebook, a student's assignment folder, or nbgrader's submitted/
    root; of `assignment`'s unit (either edition) when given, else each student's first registered
    assignment (assignment_folder)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder")
    if path.is_file():
        folder = path.parent
        student = folder.parent.name if folder.name in config.EDITIONS else path.stem
        return [submission(student, folder, main=path, assignment=_edition(folder, assignment))]
    if is_assignment_folder(path, assignment):
        student = path.parent.name if path.name in config.EDITIONS else path.name
        return [submission(student, path, assignment=_edition(path, assignment))]
    if any((path / a).is_dir() for a in _editions(assignment)):
        return [_student(path, assignment)]
    subs = []
    for child in sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith(".")):
        subs.append(_student(child, assignment))
    if not subs:
        expected = " or ".join(
            f"<student>/{a}/{units.get(a).main_notebook}" for a in _first_editions(assignment)
        )
        raise FileNotFoundError(f"{path}: no submissions found (expected {expected})")
    return subs


def _edition(folder: Path, assignment: str | None) -> str | None:
    """The edition of `assignment`'s unit a folder is (its name, when it is one), else `assignment`."""
    return folder.name if assignment and folder.name in _editions(assignment) else assignment


def _student(student_folder: Path, assignment: str | None) -> Submission:
    """The submission of the student whose folder is `student_folder` (see assignment_folder)."""
    folder = assignment_folder(student_folder, assignment)
    return submission(student_folder.name, folder, assignment=_edition(folder, assignment))


def _first_editions(assignment: str | None) -> list[str]:
    """One assignment per unit (its first edition): `assignment`'s alone when given."""
    if assignment:
        return [assignment]
    return [next(iter(units.assignments_of(u)), u.name) for u in units.every()]


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


def assignment_folder(student_folder: Path, assignment: str | None = None) -> Path:
    """A student's assignment folder: the first edition (config.EDITIONS) they have, of
    `assignment`'s unit when given, else `assignment` (default config.ASSIGNMENT, English)."""
    for edition in _editions(assignment):
        if (student_folder / edition).is_dir():
            return student_folder / edition
    return student_folder / (assignment or config.ASSIGNMENT)


def assignment_folders(student_folder: Path) -> list[Path]:
    """Every assignment a student handed in: the folder of each registered unit they have (its
    first edition they have, as assignment_folder), in registration order."""
    found = []
    for unit in units.every():
        editions = units.assignments_of(unit)
        folder = assignment_folder(student_folder, editions[0]) if editions else None
        if folder is not None and folder.is_dir():
            found.append(folder)
    return found


@functools.cache
def release_notebook(assignment: str = config.ASSIGNMENT):
    """The release copy of the edition's main notebook (read-only cells come from here)."""
    return read_notebook(_release_dir(assignment) / units.get(assignment).main_notebook)


@functools.cache
def release_quiz(assignment: str = config.ASSIGNMENT):
    """The release copy of the edition's quiz notebook (its grade_ids recognise a renamed quiz);
    no cells for a unit without a quiz."""
    quiz = units.get(assignment).quiz_notebook
    try:
        return read_notebook(_release_dir(assignment) / quiz) if quiz else {"cells": []}
    except MalformedNotebook:
        return {"cells": []}
