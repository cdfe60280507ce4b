"""Late submissions: nbgrader's timestamp.txt against a due date, and a late-penalty policy (off by default).

The due date comes from ``grade --due`` (ISO 8601; a date without a time zone is UTC, like
nbgrader's), else ``config.DUE_DATE``, else nbgrader's gradebook (``nbgrader db assignment add
<assignment> --duedate=...``) when ``gradebook.db`` exists. Lateness is recorded in every
result (``info["late"]``), in grades.csv and in the feedback. With a penalty policy (``--late-penalty``
or ``config.LATE_POLICY``), a late result gets one extra check ``late.penalty`` with negative points, so
the total, results.json and every export agree. Lateness is recomputed on every run, also for
results reused unchanged, so changing the due date or the policy needs no regrading.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from pathlib import Path

from autograder import config, i18n
from autograder.checks.outcome import CheckResult, SubmissionResult
from autograder.config import LatePolicy
from autograder.i18n import _

TIMESTAMP_FILE = "timestamp.txt"
"""Written by ``nbgrader collect``/``submit`` into the student's assignment folder."""

PENALTY_CHECK = "late.penalty"


def parse_time(text: str) -> dt.datetime:
    """A time as nbgrader writes it (``2026-11-30 20:15:03.123456 UTC``) or ISO 8601, as aware UTC.

    A time without a zone is UTC. Raises ValueError naming the text when it cannot be read.
    """
    from dateutil import parser as date_parser

    try:
        when = date_parser.parse(str(text).strip())
    except (ValueError, OverflowError) as err:
        raise ValueError(f"{text!r} is not a date and time ({err})") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.astimezone(dt.UTC)


def read_timestamp(folder) -> tuple[dt.datetime | None, str | None]:
    """(submission time, problem) from the assignment folder's timestamp.txt (None when absent)."""
    path = Path(folder) / TIMESTAMP_FILE
    try:
        text = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None, None
    try:
        return parse_time(text), None
    except ValueError as err:
        return None, f"{path.name}: {err}"


def due_date(cli: str | None = None, gradebook_due=None) -> dt.datetime | None:
    """The due date to apply: --due, else config.DUE_DATE, else the gradebook's (a datetime or None)."""
    for value in (cli, config.DUE_DATE):
        if value:
            return parse_time(value)
    if gradebook_due is not None:
        return parse_time(
            gradebook_due.isoformat() if hasattr(gradebook_due, "isoformat") else gradebook_due
        )
    return None


def penalty(
    policy: LatePolicy, late_seconds: float | None, max_score: float, score: float
) -> float:
    """Points deducted (>= 0) for `late_seconds` after the due date under `policy`."""
    if not policy.enabled or not late_seconds or late_seconds <= policy.grace_minutes * 60:
        return 0.0
    days = math.ceil((late_seconds - policy.grace_minutes * 60) / 86400)
    fraction = min(policy.max_fraction, policy.per_day * days)
    return round(min(max(score, 0.0), fraction * max_score), 6)


def apply(result: SubmissionResult, submitted_at, due, policy: LatePolicy | None = None) -> bool:
    """Record lateness in `result` (info["late"], and a late.penalty check under a policy).

    Replaces what an earlier run recorded; returns whether anything changed. `policy` defaults
    to config.LATE_POLICY.
    """
    policy = config.LATE_POLICY if policy is None else policy
    before = (
        result.info.get("late"),
        [c.to_dict() for c in result.checks if c.check_id == PENALTY_CHECK],
    )
    result.checks = [c for c in result.checks if c.check_id != PENALTY_CHECK]
    late_seconds = None
    if submitted_at is not None and due is not None:
        late_seconds = max(0.0, (submitted_at - due).total_seconds())
    points = penalty(policy, late_seconds, result.max_score, result.score)
    late = {
        "submitted_at": submitted_at.isoformat(timespec="seconds") if submitted_at else None,
        "due": due.isoformat(timespec="seconds") if due else None,
        "late_seconds": late_seconds,
        "penalty": points,
        "policy": dataclasses.asdict(policy) if policy.enabled else None,
    }  # fmt: skip
    if points:
        with i18n.use(result.info.get("lang")):  # the student's language (the grader recorded it)
            message = penalty_message(late)
        result.checks.append(CheckResult(PENALTY_CHECK, -points, 0.0, "failed", message))
    result.info["late"] = late
    after = (late, [c.to_dict() for c in result.checks if c.check_id == PENALTY_CHECK])
    return before != after


def describe(seconds: float | None) -> str:
    """'3 h 20 min', '2 d 4 h' for a duration in seconds, in the current language."""
    if seconds is None:
        return _("an unknown time")
    days, rest = divmod(int(seconds // 60), 1440)
    hours, mins = divmod(rest, 60)
    if days:
        return _("{days} d {hours} h").format(days=days, hours=hours)
    if hours:
        return _("{hours} h {mins} min").format(hours=hours, mins=mins)
    return _("{mins} min").format(mins=mins)


def summary(result: SubmissionResult) -> str | None:
    """One line for feedback: when it was handed in and how late, in the current language; None
    when nothing is known."""
    info = result.info.get("late") or {}
    if not info.get("submitted_at"):
        return None
    at, due, seconds = info["submitted_at"], info.get("due"), info.get("late_seconds") or 0
    if not due:
        line = _("Submitted {submitted_at}").format(submitted_at=at)
    elif seconds > 0:
        line = _("Submitted {submitted_at}, {late_by} after the due date {due}").format(
            submitted_at=at, late_by=describe(seconds), due=due
        )
    else:
        line = _("Submitted {submitted_at}, on time (due {due})").format(submitted_at=at, due=due)
    if info.get("penalty"):
        line = _("{when}; late penalty: -{penalty} points").format(
            when=line, penalty=f"{info['penalty']:g}"
        )
    return line


def penalty_message(info: dict) -> str:
    """The late.penalty check's message from info["late"], in the current language."""
    return _(
        "handed in {late_by} after the due date {due}: {per_day} of the points per started day late"
    ).format(
        late_by=describe(info.get("late_seconds")),
        due=info["due"],
        per_day=f"{info['policy']['per_day']:.0%}",
    )
