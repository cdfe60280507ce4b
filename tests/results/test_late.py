"""Late submissions: nbgrader's timestamp.txt, the due date, the late policy (autograder/results/late.py)."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from autograder import config
from autograder.checks.outcome import CheckResult, SubmissionResult
from autograder.results import exports, late

UTC = dt.UTC
DUE = dt.datetime(2026, 12, 1, 23, 59, tzinfo=UTC)


def result(score=30.0, most=44.0):
    checks = [CheckResult("softmax.values", score, most, "passed" if score == most else "failed")]
    return SubmissionResult("张三", checks, "ok")


@pytest.mark.parametrize(
    "text, want",
    [
        ("2026-12-02 01:59:00.123456 UTC", dt.datetime(2026, 12, 2, 1, 59, 0, 123456, tzinfo=UTC)),
        ("2026-12-02 09:59:00 +0800", dt.datetime(2026, 12, 2, 1, 59, tzinfo=UTC)),
        ("2026-12-02T01:59:00", dt.datetime(2026, 12, 2, 1, 59, tzinfo=UTC)),
    ],
)
def test_times_as_nbgrader_writes_them(text, want):
    assert late.parse_time(text) == want


def test_timestamp_txt_is_read_from_the_assignment_folder(tmp_path):
    assert late.read_timestamp(tmp_path) == (None, None)
    (tmp_path / "timestamp.txt").write_text("2026-12-02 01:59:00.000000 UTC\n")
    assert late.read_timestamp(tmp_path) == (dt.datetime(2026, 12, 2, 1, 59, tzinfo=UTC), None)
    (tmp_path / "timestamp.txt").write_text("yesterday-ish")
    when, problem = late.read_timestamp(tmp_path)
    assert when is None and "timestamp.txt" in problem


def test_due_date_precedence(monkeypatch):
    gradebook = dt.datetime(2026, 12, 3, 12, 0)  # nbgrader stores naive UTC
    assert late.due_date("2026-12-01 23:59", gradebook) == DUE
    assert late.due_date(None, gradebook) == dt.datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
    monkeypatch.setattr(config, "DUE_DATE", "2026-12-02T00:00Z")
    assert late.due_date(None, gradebook) == dt.datetime(2026, 12, 2, tzinfo=UTC)
    monkeypatch.setattr(config, "DUE_DATE", None)
    assert late.due_date(None, None) is None


def test_lateness_is_recorded_without_a_penalty_by_default():
    res = result()
    assert not config.LATE_POLICY.enabled
    late.apply(res, DUE + dt.timedelta(hours=2, minutes=30), DUE)
    assert res.info["late"]["late_seconds"] == 9000 and res.info["late"]["penalty"] == 0
    assert res.score == 30 and all(c.check_id != late.PENALTY_CHECK for c in res.checks)
    assert "2 h 30 min after the due date" in late.summary(res)
    row = next(csv.DictReader(io.StringIO(exports.grades_csv([res]))))
    assert row["late_hours"] == "2.5" and row["late_penalty"] == "0"
    assert row["submitted_at"].startswith("2026-12-02T02:29")


def test_on_time_and_unknown():
    res = result()
    late.apply(res, DUE - dt.timedelta(minutes=1), DUE)
    assert res.info["late"]["late_seconds"] == 0 and "on time" in late.summary(res)
    res = result()
    late.apply(res, None, DUE)
    assert res.info["late"]["late_seconds"] is None and late.summary(res) is None
    row = next(csv.DictReader(io.StringIO(exports.grades_csv([res]))))
    assert row["late_hours"] == "" and row["submitted_at"] == ""


def test_a_penalty_policy_deducts_per_started_day_and_never_below_zero():
    policy = late.LatePolicy(per_day=0.1, max_fraction=0.5)
    res = result(score=30)
    late.apply(res, DUE + dt.timedelta(days=1, minutes=1), DUE, policy)  # 2 started days
    assert res.info["late"]["penalty"] == pytest.approx(8.8)  # 20% of 44
    assert res.score == pytest.approx(21.2) and res.max_score == 44
    assert "late penalty: -8.8 points" in late.summary(res)
    res = result(score=30)
    late.apply(res, DUE + dt.timedelta(days=30), DUE, policy)
    assert res.info["late"]["penalty"] == pytest.approx(22)  # capped at max_fraction
    res = result(score=3)
    late.apply(res, DUE + dt.timedelta(days=30), DUE, policy)
    assert res.score == 0  # never below 0
    grace = late.LatePolicy(per_day=0.1, grace_minutes=10)
    res = result()
    late.apply(res, DUE + dt.timedelta(minutes=5), DUE, grace)
    assert res.score == 30


def test_reapplying_replaces_the_earlier_lateness():
    """A changed due date or policy is applied to a reused result without regrading it."""
    policy = late.LatePolicy(per_day=0.1)
    res = result(score=30)
    assert late.apply(res, DUE + dt.timedelta(hours=1), DUE, policy)
    assert res.score == pytest.approx(30 - 4.4)
    assert not late.apply(res, DUE + dt.timedelta(hours=1), DUE, policy)  # unchanged
    assert late.apply(res, DUE + dt.timedelta(hours=1), DUE + dt.timedelta(days=1), policy)
    assert res.score == 30 and [c.check_id for c in res.checks] == ["softmax.values"]
