"""``pytest autograder --submission PATH``: one test per student and check, points, junitxml, xdist."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from autograder import config
from autograder.units.softmax_regression import quiz

pytestmark = pytest.mark.slow


def test_pytest_path_grades_with_points_and_junitxml(tmp_path, root, examples):
    xml = tmp_path / "report.xml"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "autograder", "-p", "no:cacheprovider", "-n", "2",
         "--submission", str(examples / "alice_full"), "--submission", str(examples / "bob_naive_softmax"),
         f"--junitxml={xml}", "-q"],
        cwd=root, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stdout[-3000:]  # bob fails the stability check
    assert "bob_naive_softmax-softmax.stability" in proc.stdout
    assert (
        "subtract each row's maximum" in proc.stdout.lower() or "Subtract each row" in proc.stdout
    )
    cases = ET.parse(xml).getroot().iter("testcase")
    scores = {}
    for case in cases:
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        scores.setdefault(props["student"], 0.0)
        scores[props["student"]] += float(props["score"])
    total = config.max_points() + len(quiz.QUESTIONS) * config.QUIZ.points_per_question
    assert scores["alice_full"] == total
    assert scores["bob_naive_softmax"] == total - config.POINTS["softmax.stability"]


def test_points_marker_is_registered(root):
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "autograder", "--markers"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "points(n)" in proc.stdout


def test_a_mistyped_submission_is_a_usage_error(tmp_path, root):
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "autograder", "-p", "no:cacheprovider",
         "--submission", str(tmp_path / "submittted")],
        cwd=root, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    out = proc.stdout + proc.stderr
    assert proc.returncode == 4, out  # pytest's usage-error exit code
    assert "INTERNALERROR" not in out and "Traceback" not in out
    assert "submittted" in out and "no such file or folder" in out
