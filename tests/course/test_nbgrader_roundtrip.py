"""nbgrader end to end in a temporary course: release, autograde, export, feedback, as the README runs them.

`nbgrader autograde` grades with the confined grader (autograder/platforms/nbgrader.py): the source
solution, a blank release and the whole example class (both editions), and `python -m autograder
grade` grades the same submissions: the two agree check for check. The solution alone is also run
in the confined kernel, for the outputs a student sees in the feedback."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.paths import EXAMPLES
from helpers.paths import ROOT as REPO

from autograder import config, units
from autograder.units.softmax_regression import quiz
from autograder.units.softmax_regression import unit as softmax_unit

SOURCE = REPO / "source" / config.ASSIGNMENT
NOTEBOOKS = (softmax_unit.MAIN_NOTEBOOK, softmax_unit.QUIZ_NOTEBOOK)
SOLUTION, BLANK = "solution_student", "blank_student"
CLASS = tuple(sorted(p.name for p in EXAMPLES.iterdir() if p.is_dir()))
"""The example class, each in the edition it handed in: nbgrader and `grade` must agree on all."""
ZH = "softmax_regression_zh"
ZH_SOURCE = REPO / "source" / ZH
CONCISE = "softmax_regression_concise"
"""The second assignment: its solution and blank release are autograded too (grading only)."""


def nbgrader_env() -> dict[str, str]:
    """The venv's bin first on PATH; NBGRADER_DB_URL dropped (the course keeps its own gradebook)."""
    bin_dir = Path(sys.executable).parent
    return {
        **{k: v for k, v in os.environ.items() if k != "NBGRADER_DB_URL"},
        "PATH": str(bin_dir) + os.pathsep + os.environ.get("PATH", ""),
        "PYTHONDONTWRITEBYTECODE": "1",
        "MPLBACKEND": "Agg",
        "OMP_NUM_THREADS": "1",  # as tests/conftest.py: no thread oversubscription on 2 cores
    }


def nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    """Run the venv's nbgrader in the course folder; fail with its output if it fails."""
    result = subprocess.run(
        [str(Path(sys.executable).parent / "nbgrader"), *args],
        cwd=course,
        env=nbgrader_env(),
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert result.returncode == 0, (
        f"nbgrader {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    )
    return result


def source_grade_cells() -> dict[tuple[str, str], tuple[float, str]]:
    """(notebook stem, grade_id) -> (points, cell type) of every graded cell in source/."""
    cells = {}
    for name in NOTEBOOKS:
        for cell in json.loads((SOURCE / name).read_text())["cells"]:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if meta.get("grade"):
                cells[(Path(name).stem, meta["grade_id"])] = (
                    float(meta["points"]),
                    cell["cell_type"],
                )
    return cells


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    """A course with the assignment generated, submitted by two students and autograded."""
    root = tmp_path_factory.mktemp("course")
    ignore = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints")
    for assignment in config.EDITIONS:
        shutil.copytree(REPO / "source" / assignment, root / "source" / assignment, ignore=ignore)
        # the instructor's path: release/ already exists; release.sh --gradebook records it
        shutil.copytree(REPO / "release" / assignment, root / "release" / assignment)
    shutil.copy(REPO / "nbgrader_config.py", root / "nbgrader_config.py")
    release = subprocess.run(
        ["bash", str(REPO / "scripts" / "release.sh"), "--gradebook", str(root)],
        env=nbgrader_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert release.returncode == 0, f"release.sh --gradebook failed:\n{release.stderr}"
    submissions = [(SOLUTION, SOURCE, config.ASSIGNMENT), (SOLUTION, ZH_SOURCE, ZH)]
    submissions += [(BLANK, root / "release" / a, a) for a in (config.ASSIGNMENT, ZH)]
    submissions += [(SOLUTION, REPO / "source" / CONCISE, CONCISE),
                    (BLANK, root / "release" / CONCISE, CONCISE)]  # fmt: skip
    for student, origin, assignment in submissions:
        folder = root / "submitted" / student / assignment
        folder.mkdir(parents=True)
        for name in units.get(assignment).notebooks:
            shutil.copy(origin / name, folder / name)
    for student in CLASS:
        shutil.copytree(EXAMPLES / student, root / "submitted" / student)
    # The solution is also run in the confined kernel (its outputs in the feedback); the others are
    # graded only (--ConfinedGrade.display=False), as a TA's quick regrade would.
    runs = [nbgrader(root, "autograde", config.ASSIGNMENT, "--student", SOLUTION)]
    for assignment in (config.ASSIGNMENT, ZH, CONCISE):
        runs.append(nbgrader(root, "autograde", assignment, "--ConfinedGrade.display=False"))
        nbgrader(root, "generate_feedback", assignment)
    logs = "\n".join(run.stdout + run.stderr for run in runs)
    (root / "autograde.log").write_text(logs, encoding="utf-8")
    nbgrader(root, "export", "--to", str(root / "grades.csv"))
    return root


def grades(course: Path, student: str, assignment=config.ASSIGNMENT) -> dict[tuple[str, str], dict]:
    """(notebook stem, grade_id) -> {auto_score, max_score} of a student, from the gradebook."""
    from nbgrader.api import Gradebook

    out = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "d2l-softmax") as gb:
        submission = gb.find_submission(assignment, student)
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                out[(notebook.name, grade.name)] = {
                    "auto_score": grade.auto_score,
                    "max_score": grade.max_score,
                    "cell_type": grade.cell.cell_type,
                }
    return out


def failing_cells(course: Path, student: str) -> str:
    """The error outputs of a student's autograded notebooks, to explain a failure."""
    lines = []
    for name in NOTEBOOKS:
        path = course / "autograded" / student / config.ASSIGNMENT / name
        for cell in json.loads(path.read_text())["cells"]:
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
                    lines.append(f"{name} {gid}: {output['ename']}: {output['evalue'][:400]}")
    return "\n".join(lines)


def test_each_graded_cell_of_source_is_a_check_of_the_unit_with_its_points():
    """The quick part of this module: the source's graded code cells (what nbgrader records and
    autogrades) are the unit's checks, cell for cell and point for point (the slow tests then
    compare nbgrader's grades with the isolated grader's)."""
    from autograder.results.gradebook import grade_cell_id

    unit = units.get(config.ASSIGNMENT)
    main = Path(softmax_unit.MAIN_NOTEBOOK).stem
    cells = {
        gid: points for (notebook, gid), (points, kind) in source_grade_cells().items()
        if notebook == main and kind == "code" and points
    }  # fmt: skip
    per_cell: dict[str, float] = {}
    for check, points in unit.points.items():
        per_cell[grade_cell_id(check)] = per_cell.get(grade_cell_id(check), 0.0) + points
    assert cells == per_cell


@pytest.mark.slow
def test_gradebook_has_the_source_grade_ids_and_points(course):
    for student in (SOLUTION, BLANK):
        got = {key: (g["max_score"], g["cell_type"]) for key, g in grades(course, student).items()}
        assert got == source_grade_cells(), student


@pytest.mark.slow
def test_solution_gets_every_autograded_point(course):
    for key, grade in grades(course, SOLUTION).items():
        if grade["cell_type"] == "code":
            assert grade["auto_score"] == grade["max_score"], (
                f"{key}: {grade['auto_score']} of {grade['max_score']}\n{failing_cells(course, SOLUTION)}"
            )
        else:  # written answers wait for the instructor
            assert grade["auto_score"] is None, key


@pytest.mark.slow
def test_blank_release_gets_zero(course):
    for key, grade in grades(course, BLANK).items():
        assert grade["auto_score"] == 0, f"{key}: {grade['auto_score']}"


@pytest.mark.slow
def test_exported_scores(course):
    with open(course / "grades.csv", newline="") as handle:
        every = list(csv.DictReader(handle))
    rows = {row["student_id"]: row for row in every if row["assignment"] == config.ASSIGNMENT}
    zh = {row["student_id"]: row for row in every if row["assignment"] == ZH}
    assert float(zh[SOLUTION]["raw_score"]) == float(rows[SOLUTION]["raw_score"])
    assert float(zh[BLANK]["raw_score"]) == 0.0
    manual = sum(m.points for m in quiz.MANUAL_QUESTIONS)
    autograded = float(sum(softmax_unit.POINTS.values())) + quiz.max_points()
    assert float(rows[SOLUTION]["max_score"]) == pytest.approx(autograded + manual)
    assert float(rows[SOLUTION]["raw_score"]) == pytest.approx(autograded)
    assert float(rows[BLANK]["raw_score"]) == 0.0
    assert float(rows[BLANK]["max_score"]) == pytest.approx(autograded + manual)


@pytest.mark.slow
def test_solution_notebook_trains_to_the_expected_accuracy(course):
    path = course / "autograded" / SOLUTION / config.ASSIGNMENT / softmax_unit.MAIN_NOTEBOOK
    text = "".join(
        "".join(output.get("text", ""))
        for cell in json.loads(path.read_text())["cells"]
        if cell.get("id") == "final_accuracy"
        for output in cell.get("outputs", [])
    )
    match = re.search(r"test accuracy after 10 epochs: ([0-9.]+)", text)
    assert match, f"no accuracy printed by the final_accuracy cell: {text!r}"
    assert float(match.group(1)) >= config.ACCURACY_TIERS[0][0]


@pytest.mark.slow
def test_feedback_shows_results_but_not_hidden_tests(course):
    for student in (SOLUTION, BLANK):
        for name in NOTEBOOKS:
            html = (course / "feedback" / student / config.ASSIGNMENT / name).with_suffix(".html")
            text = html.read_text(encoding="utf-8")
            assert "Hidden test" in text or name == softmax_unit.QUIZ_NOTEBOOK
            if student == BLANK:  # each failed check shows the grader's message
                assert "AssertionError" in text, f"{student}/{html.name} shows no failed check"
            for hidden in ("run_checks", "check_answer", "HIDDEN TESTS", "autograder"):
                assert hidden not in text, f"{student}/{html.name} shows {hidden!r}"


@pytest.fixture(scope="module")
def isolated(course, graded_class) -> dict[str, dict[str, float]]:
    """`python -m autograder grade` on the same submissions: student -> {check id: score}. The
    example class is the session's graded_class; the solution and the blank are graded here."""
    folder, out = course / "isolated" / "submitted", course / "isolated" / "out"
    for student in (SOLUTION, BLANK):
        shutil.copytree(course / "submitted" / student / config.ASSIGNMENT,
                        folder / student / config.ASSIGNMENT)  # fmt: skip
    graded = subprocess.run(
        [sys.executable, "-m", "autograder", "grade", str(folder), "--out", str(out),
         "--device", "cpu", "--no-report"],
        env=nbgrader_env(), capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    assert graded.returncode == 0, graded.stderr[-3000:]
    found = {}
    for results in (out, graded_class[0]):
        for path in results.glob("*/results.json"):
            data = json.loads(path.read_text())["extra_data"]
            found[data["student"]] = {c["check_id"]: c["score"] for c in data["checks"]}
    assert set(found) == {SOLUTION, BLANK, *CLASS}
    return found


@pytest.mark.slow
@pytest.mark.parametrize("student", [SOLUTION, BLANK, *CLASS])
def test_nbgrader_and_the_isolated_grader_agree_on_every_check(course, isolated, student):
    from autograder.results.gradebook import grade_cell_id

    ours = isolated[student]
    # the solution and the blank hand in every edition (graded here: the first unit's English one);
    # an example student hands in one
    handed_in = sorted(p.name for p in (course / "submitted" / student).iterdir())
    assignment = config.ASSIGNMENT if student in (SOLUTION, BLANK) else handed_in[0]
    cell_of = {grade_cell_id(cid): cid for cid in ours}
    theirs = {
        cell_of[gid]: g["auto_score"]
        for (_, gid), g in grades(course, student, assignment).items()
        if g["cell_type"] == "code" and g["max_score"]  # 0-point cells: the visible tests
    }
    assert set(theirs) == set(ours)
    differ = {k: (theirs[k], ours[k]) for k in ours if theirs[k] != pytest.approx(ours[k])}
    assert not differ, f"{student}: (nbgrader, isolated grader) differ on {differ}"


@pytest.mark.slow
def test_each_student_has_one_export_row_for_the_edition_handed_in(course):
    with open(course / "grades.csv", newline="", encoding="utf-8") as handle:
        rows = [(r["student_id"], r["assignment"]) for r in csv.DictReader(handle)]
    for student in CLASS:
        handed_in = {p.name for p in (course / "submitted" / student).iterdir()}
        # one row per unit: the edition handed in, else a 0 row for the unit's first edition
        expected = []
        for unit in units.every():
            editions = units.assignments_of(unit)
            expected += [a for a in editions if a in handed_in] or editions[:1]
        assert sorted(a for s, a in rows if s == student) == sorted(expected), student


@pytest.mark.slow
@pytest.mark.parametrize("student", [SOLUTION, BLANK])
def test_the_chinese_edition_gives_the_same_points_for_the_same_code(course, student):
    english, chinese = grades(course, student), grades(course, student, ZH)
    assert chinese.keys() == english.keys() == source_grade_cells().keys()
    differ = {
        key: (english[key]["auto_score"], chinese[key]["auto_score"])
        for key in english
        if english[key]["auto_score"] != chinese[key]["auto_score"]
        or english[key]["max_score"] != chinese[key]["max_score"]
    }
    assert not differ, f"{student}: (English, Chinese) differ on {differ}"


@pytest.mark.slow
def test_chinese_feedback_shows_translated_tests_but_not_hidden_code(course):
    for student in (SOLUTION, BLANK):
        for name in NOTEBOOKS:
            html = (course / "feedback" / student / ZH / name).with_suffix(".html")
            text = html.read_text(encoding="utf-8")
            assert "隐藏测试" in text or name == softmax_unit.QUIZ_NOTEBOOK
            for hidden in ("run_checks", "check_answer", "HIDDEN TESTS", "autograder"):
                assert hidden not in text, f"{student}/{ZH}/{html.name} shows {hidden!r}"


@pytest.mark.slow
def test_autograde_warns_only_of_what_the_readme_explains(course):
    """No checksum warning per test cell (a student copy lacks the hidden block by design), no
    traceback; every warning nbgrader prints is one the README names."""
    log = (course / "autograde.log").read_text(encoding="utf-8")
    assert "checksum" not in log and "Traceback" not in log
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for line in log.splitlines():
        if "WARNING" in line or "Warning:" in line:
            assert "SAWarning" in line and "SAWarning" in readme, line


@pytest.mark.slow
def test_no_execute_gives_no_point_to_a_test_that_never_ran(course):
    """`autograde --no-execute` (nbgrader's own: hidden tests never run, full points) grades with
    the confined grader all the same: the blank release stays at 0, and a regrade with --force
    replaces what formgrader shows."""
    nbgrader(course, "autograde", config.ASSIGNMENT, "--no-execute", "--force", "--student", BLANK)
    for key, grade in grades(course, BLANK).items():
        if grade["cell_type"] == "code":
            assert grade["auto_score"] == 0, key


@pytest.mark.slow
def test_the_second_assignment_through_nbgrader(course):
    """nbgrader autograde of the concise unit: the solution earns every automatic point (its 40
    and the quiz's), the blank release none, each test cell worth its check's points."""
    unit = units.get(CONCISE)
    solution, blank = grades(course, SOLUTION, CONCISE), grades(course, BLANK, CONCISE)
    assert solution and set(solution) == set(blank)
    code = {key: g for key, g in solution.items() if g["cell_type"] == "code"}
    automatic = unit.max_points() + len(unit.quiz.QUESTIONS) * config.QUIZ.points_per_question
    assert sum(g["max_score"] for g in code.values()) == automatic
    for key, grade in solution.items():
        if grade["cell_type"] == "code":
            assert grade["auto_score"] == grade["max_score"], (key, grade)
        else:
            assert grade["auto_score"] is None, key
    assert all(g["auto_score"] == 0 for g in blank.values()), blank
    for cid, points in unit.points.items():
        assert (
            code[(Path(unit.main_notebook).stem, "test_" + cid.replace(".", "_"))]["max_score"]
            == points
        )
