"""Merge the isolated grader's scores into nbgrader's gradebook, so instructors keep one source of grades.

    bash scripts/release.sh --gradebook                  # once: records the graded cells in gradebook.db
    python -m autograder grade submitted --out grades
    nbgrader autograde <assignment> --no-execute         # submissions -> autograded/ (confined grader, no kernel run)
    python -m autograder gradebook-export grades         # our scores -> gradebook.db (auto scores)
    nbgrader formgrader / nbgrader export                # hand-grade m1-m3, export one grades.csv

formgrader lists only the submissions under autograded/; `nbgrader autograde` puts them there
(graded by the same confined grader, autograder/platforms/nbgrader.py: its scores equal these), and
this export writes the scores of a `grade` run over whatever nbgrader holds.

Every check is an nbgrader test cell with the grade_id ``test_<check id with _ for .>`` (quiz
questions: ``test_q1``...), so each score goes to the matching grade of the student's submission
as its auto score. Manually graded cells (the free-text answers) and manual scores already entered
in the formgrader are left alone (nbgrader counts a manual score over the auto score).
"""

from __future__ import annotations

import os
from pathlib import Path

from autograder import config, units
from autograder.checks.outcome import SubmissionResult
from autograder.results.exports import class_assignment


def grade_cell_id(check_id: str) -> str:
    """nbgrader grade_id of the test cell of a check: f.values -> test_f_values, quiz.q1 -> test_q1."""
    func, _, rest = check_id.partition(".")
    return f"test_{rest}" if func == "quiz" else "test_" + check_id.replace(".", "_")


def default_db_url() -> str:
    """NBGRADER_DB_URL, else the course's gradebook.db (nbgrader's default location)."""
    return os.environ.get("NBGRADER_DB_URL") or f"sqlite:///{config.COURSE_ROOT / 'gradebook.db'}"


def export_to_gradebook(
    results: list[SubmissionResult], db_url=None, assignment=None, course=None
) -> str:
    """Write the scores of `results` into nbgrader's gradebook; return a one-paragraph summary.

    Each student's scores go to `assignment`, or by default to the assignment their result records
    (info["assignment"]), else to the edition of its unit (units.assignments_of) the gradebook holds
    their submission of (nbgrader autograde made it), else the unit's first (English) one.
    Raises LookupError when the assignment is not in the gradebook (naming the command that
    records it). The summary names the students formgrader cannot show yet: those without an
    autograded notebook under `course` (default: the course root).
    """
    import warnings

    from nbgrader.api import Gradebook, MissingEntry

    db_url = db_url or default_db_url()
    written, unmatched, targets = 0, set(), {}
    with Gradebook(db_url) as gb:
        known = {a.name for a in gb.assignments}
        wanted = assignment or class_assignment(results)
        if wanted not in known:
            raise LookupError(
                f"assignment {wanted!r} is not in the gradebook {db_url}; record it with "
                "`bash scripts/release.sh --gradebook` (from the course root; plain `nbgrader "
                "generate_assignment` skips an assignment whose release/ folder exists)"
            )
        editions = [a for a in editions_of(wanted) if a in known]
        for res in results:
            gb.update_or_create_student(res.student)
            handed_in = res.info.get("assignment")
            target = assignment or (handed_in if handed_in in known else None)
            target = target or edition_of(gb, res.student, editions, wanted)
            try:
                sub = gb.find_submission(target, res.student)
            except MissingEntry:
                with warnings.catch_warnings():  # nbgrader's add_submission autoflush notices
                    warnings.simplefilter("ignore")
                    sub = gb.add_submission(target, res.student)
            grades = {g.name: g for nb in sub.notebooks for g in nb.grades}
            for c in res.checks:
                grade = grades.get(grade_cell_id(c.check_id))
                if grade is None:
                    unmatched.add(c.check_id)
                    continue
                grade.auto_score = min(float(c.score), float(grade.max_score))
                grade.needs_manual_grade = False
                written += 1
            targets[res.student] = target
        gb.db.commit()
    per = ", ".join(
        f"{a}: {list(targets.values()).count(a)}" for a in sorted(set(targets.values()))
    )
    summary = f"{len(targets)} students, {written} scores written to {db_url} ({per})."
    if unmatched:
        summary += f"\nNo grade cell in the gradebook for: {', '.join(sorted(unmatched))}."
    summary += not_autograded(targets, course)
    summary += "\nNext: nbgrader formgrader for the written answers, then `nbgrader export`."
    return summary


def editions_of(assignment: str) -> list[str]:
    """The editions of `assignment`'s unit (itself alone when the course does not register it)."""
    try:
        return units.assignments_of(units.get(assignment))
    except KeyError:
        return [assignment]


def edition_of(gb, student: str, editions: list[str], default: str | None = None) -> str:
    """The edition of `editions` the gradebook holds `student`'s submission of (the first, if
    several), else `default` (config.ASSIGNMENT when not given)."""
    from nbgrader.api import MissingEntry

    for edition in editions:
        try:
            gb.find_submission(edition, student)
            return edition
        except MissingEntry:
            continue
    return default or config.ASSIGNMENT


def not_autograded(targets: dict[str, str], course=None) -> str:
    """A line naming the students (student -> assignment) formgrader cannot show, or ''."""
    autograded = Path(course or config.COURSE_ROOT) / "autograded"
    missing = sorted(s for s, a in targets.items() if not (autograded / s / a).is_dir())
    if not missing:
        return ""
    shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
    commands = " and ".join(
        f"`nbgrader autograde {a} --no-execute`" for a in sorted({targets[s] for s in missing})
    )
    return (
        f"\nformgrader lists only submissions under {autograded}, where {shown} have none: run "
        f"{commands} (grades them with the confined grader; no notebook runs in a kernel), then "
        "this export again if you want this run's scores."
    )


def due_date(db_url=None, assignment=config.ASSIGNMENT):
    """The assignment's due date in nbgrader's gradebook (naive UTC, as nbgrader stores it), or None.

    Only read when the gradebook exists (a sqlite file, or NBGRADER_DB_URL); any problem reading it
    gives None (the due date then comes from --due or config.DUE_DATE only).
    """
    db_url = db_url or default_db_url()
    if db_url.startswith("sqlite:///"):
        if not Path(db_url[len("sqlite:///") :]).is_file():
            return None
    try:
        from nbgrader.api import Gradebook, MissingEntry

        with Gradebook(db_url) as gb:
            try:
                return gb.find_assignment(assignment).duedate
            except MissingEntry:
                return None
    except Exception:  # noqa: BLE001 - an unreadable gradebook only means: no due date from it
        return None
