"""Slurm: the job-array script run as Slurm would run each task (fake SLURM_* values), then the merge.

No sbatch here: the scripts' bodies are run with bash (their #SBATCH lines are comments), with the
variables Slurm sets for array tasks; the device is CPU (SOFTMAX_DEVICE) since the test machine
has no GPU. submit.sh is run against a fake sbatch that records what it was asked to queue.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys

import pytest
from helpers.paths import EXAMPLES, ROOT

from autograder.grading import shards

SLURM = ROOT / "deploy" / "slurm"
SHARDS = 2


def sbatch_options(path) -> list[str]:
    return [
        ln.split(None, 1)[1] for ln in path.read_text().splitlines() if ln.startswith("#SBATCH")
    ]


def test_array_asks_for_one_gpu_per_task_and_shards_by_task_id():
    options = sbatch_options(SLURM / "grade-array.sbatch")
    assert "--gres=gpu:1" in options and any(o.startswith("--array=1-") for o in options)
    body = (SLURM / "grade-array.sbatch").read_text()
    assert '--shard "$((SLURM_ARRAY_TASK_ID))/$N"' in body
    assert '--device "${SOFTMAX_DEVICE:-cuda}"' in body


@pytest.fixture(scope="module")
def small_class(tmp_path_factory):
    """Three blank students and dave (a broken one, trained), in nbgrader's submitted/ layout."""
    submitted = tmp_path_factory.mktemp("class") / "submitted"
    for name, src in (("ann", "carol_blank"), ("ben", "carol_blank"), ("cat", "carol_blank"),
                      ("dave", "dave_wrong_axis")):  # fmt: skip
        shutil.copytree(
            EXAMPLES / src / "softmax_regression", submitted / name / "softmax_regression"
        )
    return submitted


def run_script(script, env_extra, tmp_path):
    env = dict(os.environ, COURSE=str(ROOT), SOFTMAX_DEVICE="cpu", **env_extra)
    env.setdefault("SOFTMAX_VENV", sys.prefix)
    for var in [v for v in env if v.startswith("SLURM_") and v not in env_extra]:
        del env[var]
    return subprocess.run(["bash", str(script)], env=env, capture_output=True, text=True,
                          cwd=tmp_path, timeout=1200)  # fmt: skip


@pytest.mark.slow
def test_array_tasks_then_merge(small_class, tmp_path):
    out = tmp_path / "grades"
    common = {"SUBMITTED": str(small_class), "OUT": str(out), "SLURM_SUBMIT_DIR": str(ROOT)}
    for task in range(1, SHARDS + 1):
        proc = run_script(SLURM / "grade-array.sbatch", {**common, "SLURM_ARRAY_TASK_ID": str(task),
                          "SLURM_ARRAY_TASK_COUNT": str(SHARDS), "SLURM_CPUS_PER_TASK": "1"},
                          tmp_path)  # fmt: skip
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
        manifest = json.loads((tmp_path / f"grades-shard-{task}" / shards.MANIFEST).read_text())
        assert manifest["shard"] == f"{task}/{SHARDS}"
    per_shard = {
        t: {
            r["student"]
            for r in csv.DictReader(open(tmp_path / f"grades-shard-{t}" / "grades.csv"))
        }
        for t in range(1, SHARDS + 1)
    }
    assert set.union(*per_shard.values()) == {"ann", "ben", "cat", "dave"}
    assert sum(len(s) for s in per_shard.values()) == 4  # every student in exactly one shard
    for t, students in per_shard.items():
        assert all(shards.bucket(s, SHARDS) == t - 1 for s in students)

    proc = run_script(SLURM / "merge.sbatch", common, tmp_path)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    rows = {r["student"]: r for r in csv.DictReader(open(out / "grades.csv"))}
    assert set(rows) == {"ann", "ben", "cat", "dave"}
    assert float(rows["ann"]["score"]) == 0 and float(rows["dave"]["score"]) > 0
    assert (out / "report.html").is_file() and (out / "dave" / "feedback.html").is_file()

    # a lost shard: merge refuses, naming it, instead of writing a class with students missing
    shutil.rmtree(tmp_path / f"grades-shard-{SHARDS}")
    proc = run_script(SLURM / "merge.sbatch", {**common, "OUT": str(tmp_path / "grades2")},
                      tmp_path)  # fmt: skip
    assert proc.returncode != 0 and "shard" in proc.stderr


def test_task_outside_an_array_is_refused(small_class, tmp_path):
    proc = run_script(SLURM / "grade-array.sbatch", {"SUBMITTED": str(small_class),
                      "SLURM_ARRAY_TASK_ID": "1"}, tmp_path)  # fmt: skip
    assert proc.returncode != 0 and "not an array job" in proc.stderr


def test_submit_queues_the_array_and_a_merge_after_it(tmp_path):
    fake = tmp_path / "bin"
    fake.mkdir()
    log = tmp_path / "sbatch.log"
    (fake / "sbatch").write_text(
        f'#!/usr/bin/env bash\necho "$*" >> {log}\n'
        'case "$*" in *--array*) echo "4242;cluster";; *) echo 4243;; esac\n'
    )
    (fake / "sbatch").chmod(0o755)
    env = dict(os.environ, PATH=f"{fake}:{os.environ['PATH']}")
    proc = subprocess.run(["bash", str(SLURM / "submit.sh"), str(tmp_path / "sub"),
                           str(tmp_path / "g"), "3"], env=env, capture_output=True, text=True,
                          cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    array, merge = log.read_text().splitlines()
    assert "--array=1-3" in array and array.endswith("grade-array.sbatch")
    assert "--dependency=afterany:4242" in merge and merge.endswith("merge.sbatch")
    assert "4242" in proc.stdout and "4243" in proc.stdout
