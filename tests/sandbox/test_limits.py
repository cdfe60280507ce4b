"""A worker's hygiene (autograder/sandbox/limits.py): under memory pressure the OOM killer takes a
worker first, never the grader; cores are counted from the affinity mask."""

from __future__ import annotations

import os
from pathlib import Path

from helpers.impls import BASE

from autograder.sandbox import limits, runner
from autograder.submissions.notebook import Extraction


def test_a_worker_is_the_oom_killers_first_choice_and_the_grader_is_not():
    caller = runner.WorkerCaller(Extraction(release_source="", student_source=BASE))
    try:
        caller._start()
        worker = Path(f"/proc/{caller.process.pid}/oom_score_adj").read_text().strip()
    finally:
        caller.close()
    assert worker == str(limits.OOM_SCORE_ADJ) == "1000"
    assert Path("/proc/self/oom_score_adj").read_text().strip() != "1000"


def test_a_worker_dumps_no_core_whatever_core_pattern_says():
    """RLIMIT_CORE is 1, the value the kernel honours for piped core_pattern too (0 is ignored
    there, and a crashing worker's memory would go to systemd-coredump's disk)."""
    caller = runner.WorkerCaller(Extraction(release_source="", student_source=BASE))
    try:
        caller._start()
        lines = Path(f"/proc/{caller.process.pid}/limits").read_text().splitlines()
    finally:
        caller.close()
    core = next(line for line in lines if line.startswith("Max core file size")).split()
    assert core[4:6] == ["1", "1"] and limits.NO_CORE_DUMP == 1, core


def test_available_cores_follow_the_affinity_mask():
    assert limits.available_cores() == len(os.sched_getaffinity(0))
