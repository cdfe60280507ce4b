"""Hostile and broken submissions: nothing hangs, nothing leaks, nothing is lost.

One batch grades the red-team corpus (tests/files/hostile/build.py) beside honest submissions,
with short limits, and checks every expected outcome, that honest students get their normal
scores, that no hostile case earns more than honest work would, and that no grader file, key or
other student's result was read or changed. A second test kills a grading run with SIGKILL and
checks that the rerun resumes without regrading or losing anything.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers.loading import corpus_module
from helpers.paths import EXAMPLES
from helpers.paths import ROOT as REPO

from autograder import config
from autograder.grading import batch
from autograder.submissions import notebook
from autograder.units.softmax_regression import unit as softmax_unit

MAIN = f"{config.ASSIGNMENT}/{softmax_unit.MAIN_NOTEBOOK}"
FAST = dataclasses.replace(
    config.LIMITS, call_seconds=3, train_seconds=60, submission_seconds=120, load_seconds=5
)

pytestmark = pytest.mark.skipif(
    not (EXAMPLES / "alice_full" / MAIN).exists()
    or not (config.RELEASE_DIR / softmax_unit.MAIN_NOTEBOOK).exists(),
    reason="examples or release notebook missing",
)


def tree_hash(*paths: Path) -> dict[str, str]:
    """sha256 of every file under `paths` (and their mtimes: a read-only grader changes neither)."""
    out = {}
    for base in paths:
        files = [base] if base.is_file() else sorted(p for p in base.rglob("*") if p.is_file())
        for p in files:
            if "__pycache__" in p.parts:
                continue
            out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest() + f":{p.stat().st_mtime_ns}"
    return out


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The whole corpus graded in one batch with the honest submissions: (cases, results, dirs)."""
    build = corpus_module("hostile")
    root = tmp_path_factory.mktemp("hostile")
    subs, out = root / "submitted", root / "results"
    subs.mkdir()
    cases = build.build(subs, REPO, out)
    shutil.copytree(EXAMPLES / "alice_full", subs / "alice_copy")
    shutil.copytree(EXAMPLES / "carol_blank", subs / "carol_copy")
    # A result from an earlier batch of another student, which this batch must leave alone.
    sentinel = out / "zoe_earlier" / "results.json"
    sentinel.parent.mkdir(parents=True)
    sentinel.write_text('{"score": 7}')
    # The grader's key and data files, the release and source notebooks and the examples. (The
    # grader's .py files are left out only because engineers edit them while these tests run;
    # the sandbox refuses every write outside a worker's scratch folder, see write_results.)
    protected = [
        *sorted((REPO / "autograder").glob("*.json")),
        REPO / "release",
        REPO / "source",
        REPO / "examples",
        sentinel,
        subs / "alice_copy",
    ]
    before = tree_hash(*protected)
    mp = pytest.MonkeyPatch()
    mp.setattr(notebook, "MAX_NOTEBOOK_BYTES", 2 * 1024**2)
    start = time.monotonic()
    try:
        results = batch.grade_all([subs], out, workers=2, device="cpu", limits=FAST, progress=False)
    finally:
        mp.undo()
    seconds = time.monotonic() - start
    after = tree_hash(*protected)
    return {
        "cases": cases,
        "results": {r.student: r for r in results},
        "before": before,
        "after": after,
        "out": out,
        "seconds": seconds,
    }


def _case_ids():
    build = corpus_module("hostile")
    # Names only: build into a throwaway folder.
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        return sorted(build.build(Path(d) / "s", REPO, Path(d) / "o"))


CASES = _case_ids()


def test_batch_completes_in_time(graded):
    assert set(graded["results"]) == set(graded["cases"]) | {"alice_copy", "carol_copy"}
    # Hangs cost their limits, not the batch: well under the sum of the submission limits.
    assert graded["seconds"] < 300, graded["seconds"]


def test_honest_submissions_score_normally(graded):
    res = graded["results"]
    assert res["alice_copy"].score == 44 and res["alice_copy"].status == "ok"
    assert res["carol_copy"].score == 0 and res["carol_copy"].status == "ok"


@pytest.mark.parametrize("case", CASES)
def test_case_outcome(graded, case):
    exp, res = graded["cases"][case], graded["results"][case]
    summary = [(c.check_id, c.status, c.score, c.message[:120]) for c in res.checks]
    assert res.status == exp.status, summary
    assert res.max_score == exp.max_score  # functions and quiz
    if exp.score is not None:
        assert res.score == exp.score, summary
    if exp.softmax:
        got = {c.status for c in res.checks if c.function == "softmax"}
        assert got <= set(exp.softmax), summary
    if exp.le_control:
        control = graded["results"]["control_identity"]
        fn = lambda r, f: sum(c.score for c in r.checks if c.function == f)  # noqa: E731
        assert fn(res, "softmax") <= fn(control, "softmax"), summary
        assert res.score <= control.score, summary
    # The honest accuracy beside a hostile softmax keeps its points, unless the whole file is bad.
    # (patch_tensor_eq breaks `==` in its own worker, which its own accuracy uses: no longer undone,
    # since the grader compares in its own process.)
    if exp.category in ("hang", "escape", "tampering") and case not in (
        "hang_sleep_default_arg",
        "hang_sleep_decorator",
        "patch_tensor_eq",
    ):
        assert sum(c.score for c in res.checks if c.function == "accuracy") == 4, summary
    # Whatever happened, every check has a message a student can act on.
    assert all(c.passed or c.message for c in res.checks)


def test_nothing_read_or_changed(graded):
    before, after = graded["before"], graded["after"]
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert changed == [], changed
    out = graded["out"]
    alice = json.loads((out / "alice_copy" / "results.json").read_text())
    assert alice["score"] == 44
    assert not list(out.rglob(".results.json.*")), "half-written results left behind"


def test_tampering_messages_name_the_sandbox(graded):
    res = graded["results"]
    for case in ("read_answer_key", "write_results", "open_socket", "fork_bomb"):
        msgs = " ".join(c.message for c in res[case].checks if c.function == "softmax")
        assert "grading sandbox" in msgs or "forbidden" in msgs or "not allowed" in msgs, msgs


def _grade_cli(subs, out, env, **popen):
    cmd = [sys.executable, "-m", "autograder", "grade", str(subs), "--out", str(out),
           "--workers", "1", "--device", "cpu"]  # fmt: skip
    return subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **popen)  # fmt: skip


def _rows(csv_text):
    return sorted(line for line in csv_text.splitlines()[1:])


@pytest.mark.slow
def test_resume_after_sigkill(tmp_path):
    """kill -9 mid-batch, rerun: finished students reused, nothing half-written, same grades."""
    subs = tmp_path / "submitted"
    for name in ("amy", "ben", "cat", "dan"):
        shutil.copytree(EXAMPLES / "carol_blank", subs / name)
    # One slow student keeps the batch busy so that the kill lands mid-batch.
    build = corpus_module("hostile")
    scratch = tmp_path / "corpus"
    build.build(scratch, REPO, tmp_path / "unused")
    shutil.copytree(scratch / "hang_loop", subs / "eve_hang")
    env = {**os.environ, "SOFTMAX_CALL_SECONDS": "2", "SOFTMAX_TRAIN_SECONDS": "30",
           "SOFTMAX_SUBMISSION_SECONDS": "60"}  # fmt: skip
    out = tmp_path / "out"
    proc = _grade_cli(subs, out, env, start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        while not list(out.glob("*/results.json")):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no result appeared"
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    done = {p.parent.name: p.stat().st_mtime_ns for p in out.glob("*/results.json")}
    assert 1 <= len(done) < 5, done
    assert not (out / "grades.csv").exists()
    for p in out.glob("*/results.json"):
        json.loads(p.read_text())  # complete, parseable

    rerun = _grade_cli(subs, out, env)
    _, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    for name, mtime in done.items():
        assert (out / name / "results.json").stat().st_mtime_ns == mtime, name
    reused = f", {len(done)} current" if done else "."  # batch.Plan.summary
    assert f"{5 - len(done)} to grade{reused}" in err, err
    assert not list(out.rglob(".results.json.*"))

    fresh = tmp_path / "fresh"
    full = _grade_cli(subs, fresh, env)
    _, err2 = full.communicate(timeout=300)
    assert full.returncode == 0, err2
    assert _rows((out / "grades.csv").read_text()) == _rows((fresh / "grades.csv").read_text())
