"""A unit is a folder: a throw-away third unit, outside the repository, graded end to end.

The unit (tests/files/units/tiny_double: students write ``double(x)``) is copied into a temporary
folder and registered with SOFTMAX_UNITS_PATH; its release notebook lives in a temporary course
(SOFTMAX_COURSE_ROOT). Nothing in the repository is edited: the grader, the worker, the results
and the feedback read everything from the unit.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.paths import ROOT

TINY = ROOT / "tests" / "files" / "units" / "tiny_double"


def _notebook(solution: str) -> dict:
    """A release-shaped notebook of the tiny unit whose solution cell holds `solution`."""

    def cell(source, **nbgrader):
        meta = {"nbgrader": {"schema_version": 3, "locked": False, "solution": False,
                             "grade": False, "task": False, **nbgrader}}  # fmt: skip
        return {"cell_type": "code", "metadata": meta, "source": source, "outputs": [],
                "execution_count": None}  # fmt: skip

    return {
        "cells": [
            cell("import torch", grade_id="setup", locked=True),
            cell(solution, grade_id="double", solution=True),
            cell(
                '# graded outside this notebook by the confined grader: check "double.values"',
                grade_id="test_double_values",
                grade=True,
                points=2,
                locked=True,
            ),  # fmt: skip
            cell("show_double = double(torch.ones(2))", grade_id="demo", locked=True),
        ],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


STUDENTS = {
    "alice": "def double(x):\n    return x * 2\n",
    "bob_in_place": "def double(x):\n    x *= 2\n    return x\n",
    "carol_blank": "def double(x):\n    raise NotImplementedError()\n",
    "dan_builtin": "def double(x):\n    return torch.mul(x, 2)\n",
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Grade a class of the tiny unit with `python -m autograder grade`: (out folder, process)."""
    tmp = tmp_path_factory.mktemp("tiny")
    shutil.copytree(TINY, tmp / "units" / "tiny_double")
    release = tmp / "course" / "release" / "tiny_double"
    release.mkdir(parents=True)
    blank = "def double(x):\n    ### BEGIN SOLUTION\n    raise NotImplementedError()\n    ### END SOLUTION\n"
    (release / "double.ipynb").write_text(json.dumps(_notebook(blank)))
    # eve reads the unit's own checks (outside the repository, so outside COURSE_ROOT's exclusion)
    secret = tmp / "units" / "tiny_double" / "checks" / "__init__.py"
    eve = f"def double(x):\n    open({str(secret)!r}).read()\n    return x * 2\n"
    for student, code in {**STUDENTS, "eve_reader": eve}.items():
        folder = tmp / "class" / student / "tiny_double"
        folder.mkdir(parents=True)
        (folder / "double.ipynb").write_text(json.dumps(_notebook(code)))
    env = {**os.environ, "SOFTMAX_UNITS_PATH": str(tmp / "units"),
           "SOFTMAX_COURSE_ROOT": str(tmp / "course")}  # fmt: skip
    cmd = [sys.executable, "-m", "autograder", "grade", str(tmp / "class"), "--out",
           str(tmp / "out"), "--device", "cpu", "--workers", "1"]  # fmt: skip
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return tmp / "out", proc


def _rows(out: Path) -> dict[str, dict]:
    with open(out / "grades.csv", encoding="utf-8-sig") as fh:
        return {r["student"]: r for r in csv.DictReader(fh)}


def test_the_third_unit_is_graded_by_its_own_checks_and_points(graded):
    out, _ = graded
    rows = _rows(out)
    assert set(rows) == {*STUDENTS, "eve_reader"}
    header = next(iter(rows.values())).keys()
    assert "double" in header and "softmax" not in header and "quiz" not in header
    assert float(rows["alice"]["score"]) == 3 == float(rows["alice"]["max_score"])
    assert float(rows["bob_in_place"]["score"]) == 2  # double.values passes, not_in_place fails
    assert float(rows["carol_blank"]["score"]) == 0
    assert float(rows["dan_builtin"]["score"]) == 0 and rows["dan_builtin"]["status"] == "forbidden"


def test_its_results_and_feedback_name_only_its_checks(graded):
    out, _ = graded
    result = json.loads((out / "bob_in_place" / "results.json").read_text())
    names = {t["name"] for t in result["tests"]}
    assert names == {"double.values", "double.not_in_place"}
    feedback = (out / "bob_in_place" / "feedback.md").read_text()
    assert "double.not_in_place" in feedback and "softmax" not in feedback
    blank = json.loads((out / "carol_blank" / "results.json").read_text())
    hint = " ".join(t["output"] for t in blank["tests"])
    assert "double" in hint and "NotImplementedError" in hint


def test_a_student_cannot_read_a_unit_kept_outside_the_repository(graded):
    out, _ = graded
    assert float(_rows(out)["eve_reader"]["score"]) == 0
    result = json.loads((out / "eve_reader" / "results.json").read_text())
    said = " ".join(t["output"] for t in result["tests"])
    assert "Permission denied" in said or "PermissionError" in said, said


def test_nothing_in_the_repository_knows_the_third_unit(graded):
    assert not (ROOT / "autograder" / "units" / "tiny_double").exists()
    assert not (ROOT / "release" / "tiny_double").exists()
    from autograder import config

    assert "tiny_double" not in config.UNITS  # registered only where SOFTMAX_UNITS_PATH says so


def test_a_units_path_entry_that_is_no_folder_is_refused(tmp_path):
    env = {**os.environ, "SOFTMAX_UNITS_PATH": str(tmp_path / "nowhere")}
    proc = subprocess.run([sys.executable, "-c", "import autograder.units"], env=env,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert proc.returncode != 0 and "nowhere is not a folder" in proc.stderr
