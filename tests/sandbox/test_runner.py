"""The grader's side of a worker (autograder/sandbox/runner.py): the early run, started in a second
worker when a core is spare, is the same run, under the same limits, as the one the first worker
would have trained, and it never outlives its submission."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import psutil
import pytest
import torch

from autograder import config
from autograder.checks.loop import Aborted
from autograder.grading import grader
from autograder.sandbox import runner
from autograder.submissions.notebook import Extraction

IMPLS = Path(__file__).parents[1] / "files" / "impls"
BASE = (IMPLS / "base.py").read_text()

HANGS = (
    BASE
    + "\ndef train_ch3(net, train_iter, test_iter, loss, num_epochs, updater):\n    while True:\n        pass\n"
)
HOG = BASE + (
    "\ndef train_ch3(net, train_iter, test_iter, loss, num_epochs, updater):\n"
    "    import time\n"
    "    hog = torch.ones(2 ** 28)  # 1 GiB\n"
    "    time.sleep(60)\n"
)  # fmt: skip


def extraction(source: str) -> Extraction:
    """The code a worker would define for a notebook whose graded cells hold `source`."""
    return Extraction(release_source="", student_source=source)


@pytest.fixture
def cores(monkeypatch):
    """Set how many cores the runner believes it has."""

    def set_cores(n):
        monkeypatch.setattr(runner, "available_cores", lambda: n)

    return set_cores


def _live_now():
    return runner._live[0]


@pytest.mark.slow
def test_the_early_run_is_the_run_the_first_worker_would_have_trained(cores):
    cores(4)
    before = _live_now()
    early = runner.WorkerCaller(extraction(BASE), early_run="end_to_end")
    plain = runner.WorkerCaller(extraction(BASE))
    try:
        early._start()
        assert early.side is not None and early.early_started == "end_to_end"
        assert early.side[0].confinement.get("confined") is True  # confined like the first
        assert _live_now() == before + 2
        got, want = early.train("end_to_end"), plain.train("end_to_end")
    finally:
        early.close()
        plain.close()
    assert got["ok"] and want["ok"]
    assert torch.equal(got["W"], want["W"]) and torch.equal(got["b"], want["b"])
    assert got["snapshots"].keys() == want["snapshots"].keys()
    for key in ("steps", "loss_calls", "test_accuracy"):
        assert got[key] == want[key], key
    assert plain.early_started is None and plain.side is None
    assert _live_now() == before


def test_no_early_run_without_two_spare_cores(cores):
    cores(1)
    caller = runner.WorkerCaller(extraction(BASE), early_run="end_to_end")
    try:
        caller._start()
        assert caller.side is None and caller.early_started is None
    finally:
        caller.close()


@pytest.mark.slow
def test_an_early_run_that_hangs_times_out_as_it_would_in_the_first_worker(cores):
    cores(4)
    limits = dataclasses.replace(config.LIMITS, train_seconds=3.0)
    messages = []
    for early_run in ("end_to_end", None):
        caller = runner.WorkerCaller(extraction(HANGS), limits=limits, early_run=early_run)
        try:
            caller._start()
            assert (caller.side is not None) == (early_run is not None)
            time.sleep(1.0)  # the limit counts from when the early run was sent
            start = time.monotonic()
            with pytest.raises(Aborted) as err:
                caller.train("end_to_end")
            waited = time.monotonic() - start
            messages.append((err.value.status, err.value.message))
            assert waited < (2.9 if early_run else 4.0), waited
        finally:
            caller.close()
    assert messages[0] == messages[1]
    assert messages[0][0] == "timeout" and "3 s" in messages[0][1], messages


@pytest.mark.slow
def test_an_early_run_over_the_memory_cap_is_killed_while_the_checks_run(cores):
    cores(4)
    limits = dataclasses.replace(config.LIMITS, memory_bytes=900 * 1024**2)
    caller = runner.WorkerCaller(extraction(HOG), limits=limits, early_run="end_to_end")
    try:
        caller._start()
        side = caller.side[0].process.pid
        end = time.monotonic() + 60
        while caller.side is not None and time.monotonic() < end:
            reply = caller.call("softmax", [torch.zeros(2, 3)])  # the first worker answers checks
            assert reply.get("ok"), reply
        assert caller.side is None, "the early run's memory was never watched"
        assert not psutil.pid_exists(side) or psutil.Process(side).status() == "zombie"
        with pytest.raises(Aborted) as err:
            caller.train("end_to_end")
        assert err.value.status == "memory" and "0.9 GB" in err.value.message
        assert caller.peak_rss > limits.memory_bytes
    finally:
        caller.close()


def test_closing_kills_an_early_run_nobody_asked_for(cores):
    cores(4)
    before = _live_now()
    caller = runner.WorkerCaller(extraction(HANGS), early_run="end_to_end")
    caller._start()
    side = caller.side[0].process.pid
    assert psutil.pid_exists(side)
    caller.close()
    assert _live_now() == before
    assert not psutil.pid_exists(side) or psutil.Process(side).status() == "zombie"


def test_the_early_run_is_only_started_for_a_check_that_can_run(monkeypatch):
    """grader.early_run: the end-to-end check's run, unless its functions are missing or use a
    built-in they must implement, or the check is not graded at all."""
    full = Extraction(release_source="", student_source="")
    assert grader.early_run(full) == "end_to_end"
    assert grader.early_run(Extraction("", "", missing={"train_ch3": "not found"})) is None
    assert grader.early_run(Extraction("", "", forbidden={"softmax": ["torch.softmax"]})) is None
    assert grader.early_run(Extraction("", "", missing={"accuracy": "not found"})) == "end_to_end"
    monkeypatch.setattr(
        grader, "CHECKS", [p for p in grader.CHECKS if p[0] != "train_ch3.end_to_end"]
    )
    assert grader.early_run(full) is None
