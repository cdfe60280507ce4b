"""Grading the example class from the command line (autograder/batch.py, __main__.py, exports.py)."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest

from autograder import config, quiz

pytestmark = pytest.mark.slow


def rows(out):
    with open(out / "grades.csv") as fh:
        return {r["student"]: r for r in csv.DictReader(fh)}


def test_example_class_scores(graded_class):
    out, proc = graded_class
    grades = rows(out)
    total = config.max_points() + len(quiz.QUESTIONS) * config.QUIZ.points_per_question
    assert float(grades["alice_full"]["score"]) == total == float(grades["alice_full"]["max_score"])
    assert float(grades["carol_blank"]["score"]) == 0
    # A naive softmax loses exactly the stability points.
    assert float(grades["bob_naive_softmax"]["softmax"]) == 10 - config.POINTS["softmax.stability"]
    assert (
        grades["frank_builtins"]["status"] == "forbidden"
        and float(grades["frank_builtins"]["softmax"]) == 0
    )
    assert "alice_full" in proc.stdout and "grades.csv" in proc.stdout


def test_results_json_follows_gradescope_schema(graded_class):
    out, _ = graded_class
    data = json.loads((out / "dave_wrong_axis" / "results.json").read_text())
    assert {"score", "max_score", "tests"} <= set(data)
    names = {t["name"] for t in data["tests"]}
    assert set(config.POINTS) <= names
    for t in data["tests"]:
        assert {"name", "score", "max_score", "status", "output"} <= set(t)
        assert t["status"] in ("passed", "failed")
    failed = [t for t in data["tests"] if t["name"] == "softmax.values"][0]
    assert (
        failed["status"] == "failed"
        and "Expected:" in failed["output"]
        and "Hint:" in failed["output"]
    )


def test_rerun_reuses_finished_results(graded_class, examples):
    out, _ = graded_class
    before = (out / "alice_full" / "results.json").stat().st_mtime_ns
    proc = subprocess.run(
        [sys.executable, "-m", "autograder", "grade", str(examples / "alice_full"), "--out", str(out)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0 and "unchanged, reused" in proc.stderr
    assert (out / "alice_full" / "results.json").stat().st_mtime_ns == before


def test_missing_path_is_a_clear_error(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "autograder", "grade", str(tmp_path / "nope"), "--out", str(tmp_path / "o")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2 and "no such file or folder" in proc.stderr
