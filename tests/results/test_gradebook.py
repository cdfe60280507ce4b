"""Merging our scores into nbgrader's gradebook (autograder/results/gradebook.py, `gradebook-export`)."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
import warnings

import pytest
from helpers.fake_units import fake_unit
from helpers.paths import FILES

from autograder import config
from autograder.results import gradebook
from autograder.results.report import load_results
from autograder.units.softmax_regression import quiz
from autograder.units.softmax_regression import unit as softmax_unit

RESULTS = FILES / "feedback" / "results"


def test_every_check_has_a_grade_cell(root):
    cells = {}
    for name in (softmax_unit.MAIN_NOTEBOOK, softmax_unit.QUIZ_NOTEBOOK):
        nb = json.loads((root / "source" / config.ASSIGNMENT / name).read_text())
        for cell in nb["cells"]:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            # 0-point graded cells are the visible tests (graded so that Validate fails on them)
            if meta.get("grade") and not meta.get("solution") and float(meta["points"]):
                cells[meta["grade_id"]] = float(meta["points"])
    ours = {
        gradebook.grade_cell_id(c.check_id): c.max_score for c in load_results(RESULTS)[0].checks
    }
    assert ours == cells


@pytest.mark.slow
def test_export_into_gradebook_then_nbgrader_export(root, tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    shutil.copytree(root / "source", course / "source")
    shutil.copy(root / "nbgrader_config.py", course)
    db = f"sqlite:///{tmp_path / 'gradebook.db'}"
    env_db = [f"--CourseDirectory.db_url={db}", "--log-level=WARN"]
    nbg = [sys.executable, "-m", "nbgrader"]
    results = load_results(RESULTS)

    # before generate_assignment the gradebook does not know the assignment: a clear error
    proc = subprocess.run([sys.executable, "-m", "autograder", "gradebook-export", str(RESULTS), "--db", db],
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 2 and "bash scripts/release.sh --gradebook" in proc.stderr

    subprocess.run([*nbg, "generate_assignment", config.ASSIGNMENT, "--force", *env_db],
                   cwd=course, check=True, capture_output=True, timeout=600)  # fmt: skip
    proc = subprocess.run([sys.executable, "-m", "autograder", "gradebook-export", str(RESULTS), "--db", db],
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"{len(results)} students" in proc.stdout and "No grade cell" not in proc.stdout
    # running it twice updates the same submissions
    again = subprocess.run([sys.executable, "-m", "autograder", "gradebook-export", str(RESULTS), "--db", db],
                           capture_output=True, text=True, timeout=300)  # fmt: skip
    assert again.returncode == 0

    out = tmp_path / "nbgrader_grades.csv"
    subprocess.run([*nbg, "export", "--to", str(out), *env_db], cwd=course, check=True,
                   capture_output=True, timeout=300)  # fmt: skip
    with open(out) as fh:
        rows = {r["student_id"]: r for r in csv.DictReader(fh)}
    assert set(rows) == {r.student for r in results}
    for r in results:
        assert float(rows[r.student]["raw_score"]) == pytest.approx(r.score)
    manual = sum(q.points for q in quiz.MANUAL_QUESTIONS)
    assert float(rows["alice_full"]["max_score"]) == pytest.approx(results[0].max_score + manual)


def test_missing_assignment_names_the_command_that_records_it(tmp_path):
    from nbgrader.api import Gradebook

    db = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with Gradebook(db) as gb:
        gb.add_assignment("other")
    with pytest.raises(LookupError) as err:
        gradebook.export_to_gradebook(load_results(RESULTS), db_url=db)
    # not `nbgrader generate_assignment`: it skips an assignment whose release/ exists (a circle)
    assert "record it with `bash scripts/release.sh --gradebook`" in str(err.value)
    assert str(err.value).index("release.sh") < str(err.value).index("generate_assignment")


def test_summary_names_students_formgrader_cannot_show(tmp_path):
    from nbgrader.api import Gradebook

    results = load_results(RESULTS)
    assert len(results) >= 2
    db = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with Gradebook(db) as gb:
        gb.add_assignment(config.ASSIGNMENT)
    shown = results[0].student
    (tmp_path / "autograded" / shown / config.ASSIGNMENT).mkdir(parents=True)
    summary = gradebook.export_to_gradebook(results, db_url=db, course=tmp_path)
    hint = next(ln for ln in summary.splitlines() if ln.startswith("formgrader lists only"))
    assert f"nbgrader autograde {config.ASSIGNMENT} --no-execute" in hint
    assert shown not in hint.split(" have none")[0].split("where ")[1]
    assert all(r.student in hint for r in results[1:6])
    for r in results[1:]:
        (tmp_path / "autograded" / r.student / config.ASSIGNMENT).mkdir(parents=True)
    summary = gradebook.export_to_gradebook(results, db_url=db, course=tmp_path)
    assert "formgrader lists only" not in summary


def test_each_student_goes_to_the_edition_they_submitted(tmp_path):
    from nbgrader.api import Gradebook, MissingEntry

    results = load_results(RESULTS)[:3]
    zh = next(a for a in config.EDITIONS if a != config.ASSIGNMENT)
    db = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with Gradebook(db) as gb:
        gb.add_assignment(config.ASSIGNMENT)
        gb.add_assignment(zh)
        gb.add_student(results[0].student)
        with warnings.catch_warnings():  # nbgrader's add_submission autoflush notices
            warnings.simplefilter("ignore")
            gb.add_submission(zh, results[0].student)  # nbgrader autograde of a zh student
    (tmp_path / "autograded" / results[0].student / zh).mkdir(parents=True)
    summary = gradebook.export_to_gradebook(results, db_url=db, course=tmp_path)
    assert f"({config.ASSIGNMENT}: 2, {zh}: 1)" in summary
    hint = next(ln for ln in summary.splitlines() if ln.startswith("formgrader lists only"))
    assert f"nbgrader autograde {config.ASSIGNMENT} --no-execute" in hint and zh not in hint
    with Gradebook(db) as gb:
        gb.find_submission(zh, results[0].student)
        with pytest.raises(MissingEntry):
            gb.find_submission(config.ASSIGNMENT, results[0].student)
        for r in results[1:]:
            gb.find_submission(config.ASSIGNMENT, r.student)
    # --assignment sends everyone to the one named
    summary = gradebook.export_to_gradebook(results, db_url=db, assignment=zh, course=tmp_path)
    assert f"({zh}: 3)" in summary


def test_due_date_from_the_gradebook(tmp_path):
    import datetime as dt

    from nbgrader.api import Gradebook

    db = f"sqlite:///{tmp_path / 'gradebook.db'}"
    assert gradebook.due_date(db) is None  # no gradebook: no due date, no error
    with Gradebook(db) as gb:
        gb.add_assignment(config.ASSIGNMENT, duedate=dt.datetime(2026, 12, 1, 15, 59))
        gb.add_assignment("other")
    assert gradebook.due_date(db) == dt.datetime(2026, 12, 1, 15, 59)
    assert gradebook.due_date(db, assignment="other") is None
    assert gradebook.due_date(db, assignment="absent") is None


def test_a_chinese_edition_result_goes_to_its_edition_before_nbgrader_saw_it(tmp_path):
    """A zh student graded by `grade` (info["assignment"]) whom nbgrader has not autograded yet is
    sent to, and told to autograde, the Chinese edition, not the English one (issue 21)."""
    from nbgrader.api import Gradebook, MissingEntry

    results = load_results(RESULTS)[:2]
    zh = next(a for a in config.EDITIONS if a != config.ASSIGNMENT)
    results[0].info["assignment"] = zh
    db = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with Gradebook(db) as gb:
        gb.add_assignment(config.ASSIGNMENT)
        gb.add_assignment(zh)
    summary = gradebook.export_to_gradebook(results, db_url=db, course=tmp_path)
    hint = next(ln for ln in summary.splitlines() if ln.startswith("formgrader lists only"))
    assert f"nbgrader autograde {zh} --no-execute" in hint
    with Gradebook(db) as gb:
        gb.find_submission(zh, results[0].student)
        with pytest.raises(MissingEntry):
            gb.find_submission(config.ASSIGNMENT, results[0].student)


def test_a_class_of_another_unit_goes_to_its_own_assignment(tmp_path, monkeypatch):
    """The results of another unit's class are exported to its editions: a gradebook holding only
    that unit's assignments takes them (the softmax assignment is neither needed nor used)."""
    from nbgrader.api import Gradebook

    from autograder.checks.outcome import CheckResult, SubmissionResult

    fake_unit(monkeypatch, "fake_c", editions={"fake_c": "en", "fake_c_zh": "zh_CN"}, GRADED_FUNCTIONS=("double",))  # fmt: skip
    check = CheckResult("double.values", 2.0, 2.0, "passed")
    results = [SubmissionResult("ann", [check], info={"assignment": "fake_c_zh"}),
               SubmissionResult("bo", [check], info={"assignment": "fake_c"})]  # fmt: skip
    db = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with Gradebook(db) as gb:
        gb.add_assignment("fake_c")
        gb.add_assignment("fake_c_zh")
    summary = gradebook.export_to_gradebook(results, db_url=db, course=tmp_path)
    assert "(fake_c: 1, fake_c_zh: 1)" in summary
    assert gradebook.editions_of("fake_c_zh") == ["fake_c", "fake_c_zh"]
    assert gradebook.editions_of("not_registered") == ["not_registered"]
