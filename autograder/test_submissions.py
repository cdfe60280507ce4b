"""One test per (student, check): collected by ``pytest autograder --submission PATH``."""

import pytest

from autograder.plugin import graded


def test_check(grading_case, request, record_property):
    """The check passes with full points; otherwise fail with the student-facing message."""
    sub, check_id, points = grading_case
    result = graded(request.config, sub)
    check = next((c for c in result.checks if c.check_id == check_id), None)
    if check is None:
        pytest.fail(f"{check_id} was not graded for {sub.student}", pytrace=False)
    record_property("student", sub.student)
    record_property("check", check_id)
    record_property("score", check.score)
    record_property("max_score", check.max_score)
    record_property("status", check.status)
    if not check.passed:
        pytest.fail(
            f"[{check.status}] {check.score:g}/{check.max_score:g} points\n{check.message}",
            pytrace=False,
        )
