"""The second assignment graded end to end by `python -m autograder grade`, both editions.

The solution notebooks (source/, English and Chinese) earn every point; the blank release earns
none; one student with a hand-written gradient that calls autograd loses exactly the functions
that must not use it. Judged from grades.csv, results.json and the feedback, in the confined
workers, with the unit's own columns.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys

import pytest
from helpers.paths import ROOT

from autograder import config, units

EN, ZH = "softmax_regression_concise", "softmax_regression_concise_zh"
UNIT = units.get(EN)

AUTOGRAD_GRADIENT = """
def softmax_ce_grad(X, y, W, b):
    W, b = W.detach().requires_grad_(True), b.detach().requires_grad_(True)
    o = X @ W + b
    loss = (torch.logsumexp(o, dim=1) - o.gather(1, y.reshape(-1, 1)).squeeze(1)).mean()
    loss.backward()
    return W.grad, b.grad
"""


def _with_gradient_by_autograd(notebook: dict) -> dict:
    """The solution notebook with its softmax_ce_grad cell replaced by one that calls autograd."""
    for cell in notebook["cells"]:
        if (cell.get("metadata", {}).get("nbgrader") or {}).get("grade_id") == "softmax_ce_grad":
            cell["source"] = AUTOGRAD_GRADIENT
    return notebook


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """(out folder, grades.csv rows) of a class of five, graded with --assignment: solutions in
    both editions, the blank release, a gradient computed by autograd, and a student whose folder
    also holds the first assignment."""
    tmp = tmp_path_factory.mktemp("concise")
    subs = tmp / "submitted"
    for student, edition, origin in (
        ("ada_solution", EN, ROOT / "source" / EN),
        ("li_solution_zh", ZH, ROOT / "source" / ZH),
        ("ben_blank", EN, ROOT / "release" / EN),
        ("cy_autograd", EN, ROOT / "source" / EN),
    ):
        folder = subs / student / edition
        folder.mkdir(parents=True)
        for name in UNIT.notebooks:
            shutil.copy(origin / name, folder / name)
    # dee's folder also holds the first assignment (blank): --assignment picks the concise one
    shutil.copytree(ROOT / "release" / config.ASSIGNMENT, subs / "dee_both" / config.ASSIGNMENT)
    shutil.copytree(subs / "ada_solution" / EN, subs / "dee_both" / EN)
    main = subs / "cy_autograd" / EN / UNIT.main_notebook
    main.write_text(json.dumps(_with_gradient_by_autograd(json.loads(main.read_text()))))
    out = tmp / "out"
    cmd = [sys.executable, "-m", "autograder", "grade", str(subs), "--out", str(out),
           "--device", "cpu", "--assignment", EN]  # fmt: skip
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=900,
                          env={**os.environ})  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    with open(out / "grades.csv", encoding="utf-8-sig") as fh:
        rows = {r["student"]: r for r in csv.DictReader(fh)}
    return out, rows


def _quiz_points() -> float:
    return len(UNIT.quiz.QUESTIONS) * config.QUIZ.points_per_question


def test_the_autograd_student_differs_from_the_solution_only_in_the_gradient_cell():
    """The quick part of this module: the class it grades is what its tests assume (the slow
    tests grade it): the autograd student's notebook is the solution's but for one cell."""
    solution = json.loads((ROOT / "source" / EN / UNIT.main_notebook).read_text())
    changed = _with_gradient_by_autograd(json.loads(json.dumps(solution)))
    differ = [
        (a.get("metadata", {}).get("nbgrader") or {}).get("grade_id")
        for a, b in zip(solution["cells"], changed["cells"], strict=True)
        if a["source"] != b["source"]
    ]
    assert differ == ["softmax_ce_grad"]
    assert ".backward()" in AUTOGRAD_GRADIENT


@pytest.mark.slow
def test_the_solutions_earn_every_point_in_both_editions(graded):
    out, rows = graded
    full = UNIT.max_points() + _quiz_points()
    for student in ("ada_solution", "li_solution_zh", "dee_both"):
        row = rows[student]
        assert float(row["score"]) == full == float(row["max_score"]), row
        assert row["status"] == "ok"
    result = json.loads((out / "li_solution_zh" / "results.json").read_text())
    info = result["extra_data"]["info"]
    assert info["lang"] == "zh_CN" and info["assignment"] == ZH
    assert info["confinement"]["confined"] is True


@pytest.mark.slow
def test_the_columns_are_the_units_own(graded):
    _, rows = graded
    header = list(next(iter(rows.values())))
    assert [c for c in header if c in UNIT.columns] == list(UNIT.columns)
    assert "softmax" not in header and "train_ch3" not in header


@pytest.mark.slow
def test_the_blank_release_earns_nothing(graded):
    _, rows = graded
    assert float(rows["ben_blank"]["score"]) == 0


@pytest.mark.slow
def test_a_gradient_by_autograd_costs_the_functions_that_must_not_use_it(graded):
    out, rows = graded
    row = rows["cy_autograd"]
    assert float(row["softmax_ce_grad"]) == 0 and float(row["train_manual"]) == 0
    for function in ("net", "stable_cross_entropy", "training"):
        assert float(row[function]) == sum(
            p for cid, p in UNIT.points.items() if cid.startswith(function + ".")
        ), function
    feedback = (out / "cy_autograd" / "feedback.md").read_text()
    assert "softmax_ce_grad" in feedback and "forbidden" in feedback


@pytest.mark.slow
def test_the_accuracy_the_grader_measured_is_reported(graded):
    out, _ = graded
    result = json.loads((out / "ada_solution" / "results.json").read_text())
    tests = {t["name"]: t for t in result["tests"]}
    for cid in UNIT.accuracy_checks:
        assert tests[cid]["status"] == "passed", tests[cid]
