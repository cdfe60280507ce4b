"""The generic check machinery (autograder/checks/): one status list, one registry, one loop."""

from __future__ import annotations

import pytest

from autograder.checks import loop, status
from autograder.checks.outcome import CheckResult
from autograder.units.softmax_regression import unit as softmax_unit
from autograder.units.softmax_regression.checks import REGISTRY


def test_statuses_keep_their_order_problems_and_words():
    assert status.PRIORITY == (
        "grader_error",
        "malformed",
        "forbidden",
        "memory",
        "timeout",
        "crashed",
    )
    assert status.PROBLEMS == {
        "grader_error",
        "timeout",
        "crashed",
        "memory",
        "forbidden",
        "malformed",
    }
    assert status.words("ok") == "graded" and status.words("failed") == "failed"
    assert status.submission_status({"timeout", "failed", "crashed"}) == "timeout"
    assert status.submission_status({"failed", "passed"}) == "ok"


def test_each_check_is_declared_once_with_its_points():
    ids = [c.id for c in REGISTRY]
    assert len(ids) == len(set(ids)) and set(ids) == set(softmax_unit.POINTS)
    assert REGISTRY.training == {c for c in ids if c.startswith("train_ch3.")}
    assert REGISTRY.needs == {"train_ch3.end_to_end": ("softmax", "cross_entropy")}
    assert set(REGISTRY.curves) == {"train_ch3.end_to_end", "train_ch3.accuracy"}
    assert [c for c, _ in REGISTRY.select("accuracy")] == [
        c for c in ids if c.startswith("accuracy.")
    ]
    with pytest.raises(KeyError):
        REGISTRY.select("nope")


def test_the_loop_shares_a_worker_failure_and_reports_or_raises_check_errors():
    def aborts(caller):
        raise loop.Aborted("timeout", "hung")

    def passes(caller):
        return CheckResult("softmax.values", 2.0, 2.0, "passed")

    def breaks(caller):
        raise RuntimeError("bug")

    pairs = [("softmax.shape", aborts), ("softmax.values", passes), ("accuracy.values", breaks)]
    with pytest.raises(RuntimeError):
        list(loop.run(pairs, None, needs={}))
    dead = {}
    got = list(loop.run(pairs, None, needs={}, dead=dead,
                        on_exception=lambda cid, pts, err: CheckResult(cid, 0.0, pts, "grader_error", str(err))))  # fmt: skip
    assert [r.status for r in got] == ["timeout", "timeout", "grader_error"]
    assert got[1].message.startswith("not run: an earlier softmax check ended with timeout")
    assert dead == {"softmax": ("timeout", "an earlier softmax check ended with timeout: hung")}
