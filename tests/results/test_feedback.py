"""Per-student feedback (autograder/results/feedback.py), written by `python -m autograder grade` at the end."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest

from autograder import config
from autograder.results import feedback
from autograder.results.exports import read_result
from autograder.units.softmax_regression import quiz

RESULTS = Path(__file__).parents[1] / "files" / "feedback" / "results"
SECRETS = ("run_checks(", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "answer_key", "inprocess")


@pytest.fixture(scope="module")
def graded(graded_class):
    """The example class graded once by the CLI (which also writes feedback and the report)."""
    out, proc = graded_class
    assert "class report" in proc.stdout
    return out


def key_answers():
    return json.loads(quiz.KEY_FILE.read_text())["answers"]


@pytest.mark.slow
def test_grade_writes_feedback_for_every_student(graded, examples):
    students = sorted(p.name for p in examples.iterdir() if p.is_dir())
    for s in students:
        html_text = (graded / s / "feedback.html").read_text()
        md = (graded / s / "feedback.md").read_text()
        res = read_result(graded / s / "results.json")
        assert f"Score: {res.score:g} / {res.max_score:g}" in html_text
        assert f"**Score: {res.score:g} / {res.max_score:g}**" in md
        for secret in SECRETS:
            assert secret not in html_text and secret not in md, (s, secret)
    assert (graded / "report.html").is_file()


@pytest.mark.slow
def test_failed_checks_show_their_messages(graded):
    res = read_result(graded / "dave_wrong_axis" / "results.json")
    md = (graded / "dave_wrong_axis" / "feedback.md").read_text()
    html_text = (graded / "dave_wrong_axis" / "feedback.html").read_text()
    failed = [c for c in res.checks if not c.passed]
    assert {c.check_id for c in failed} >= {"softmax.values", "softmax.stability", "quiz.q7"}
    for c in failed:
        assert f"### {c.check_id}: {c.status}" in md
        assert c.message in md
        assert feedback.esc(c.message) in html_text
    assert "Expected:" in md and "Hint: you normalised each column" in md
    # points per function
    assert "| softmax | 6 / 10 | 5 / 7 |" in md


@pytest.mark.slow
def test_training_curve_embedded(graded):
    res = read_result(graded / "alice_full" / "results.json")
    html_text = (graded / "alice_full" / "feedback.html").read_text()
    md = (graded / "alice_full" / "feedback.md").read_text()
    src = re.search(r"<img id='curve' [^>]*src='data:image/png;base64,([^']+)'", html_text)
    assert src and base64.b64decode(src.group(1)).startswith(b"\x89PNG")
    for cid, acc in feedback.test_accuracies(res).items():
        assert f"{acc:.4f}" in html_text and f"{cid}: test accuracy {acc:.4f}" in md
    curve = feedback.curves(res)["train_ch3.end_to_end"]
    assert len(curve) == config.NUM_EPOCHS
    last = curve[-1]
    assert f"| {last[0]:g} | {last[1]:.4f} | {last[2]:.4f} | {last[3]:.4f} |" in md
    assert "All checks passed." in md


@pytest.mark.slow
def test_quiz_key_not_revealed(graded):
    key = key_answers()
    for folder in graded.iterdir():
        if not folder.is_dir():
            continue
        md = (folder / "feedback.md").read_text()
        res = read_result(folder / "results.json")
        for c in res.checks:
            if c.function == "quiz" and c.status == "failed":  # wrong answers (others: format)
                block = md.split(f"### {c.check_id}:")[1].split("###")[0]
                want = key[c.check_id.split(".")[1]]
                if isinstance(want, str):  # a choice letter, as it would be quoted
                    assert not re.search(rf"""['"]{want}['"]""", block), block
                else:
                    assert str(want) not in block, block


def test_feedback_from_stored_results_without_training():
    res = read_result(RESULTS / "hank_crashed" / "results.json")
    md = feedback.render_markdown(res)
    assert "status: crashed" in md and "signal 11" in md
    carol = read_result(RESULTS / "carol_blank" / "results.json")
    page = feedback.render_html(carol)
    assert "<img id='curve'" not in page and "did not finish a training run" in page
    assert feedback.curve_figure(carol) is None


def test_feedback_says_the_written_answers_are_graded_later():
    """nbgrader shows 37/50 where the grader shows 37/44: the feedback names the 6 hand-graded points."""
    res = read_result(RESULTS / "dave_wrong_axis" / "results.json")
    manual = sum(q.points for q in feedback.quiz.MANUAL_QUESTIONS)
    assert manual == 6
    want = f"({manual:g} points) are graded by hand later, so the full total is out of {res.max_score + manual:g}"
    assert want in feedback.render_markdown(res)
    assert want in feedback.render_html(res, curve_png="")


def test_html_escapes_student_text():
    res = read_result(RESULTS / "dave_wrong_axis" / "results.json")
    res.checks[1].message = "Got: <script>alert(1)</script>"
    res.checks[1].status = "failed"
    page = feedback.render_html(res, curve_png="")
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_feedback_shows_lateness_and_grader_failures(tmp_path):
    import datetime as dt

    from autograder.checks.outcome import CheckResult, SubmissionResult
    from autograder.results import late

    due = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    res = SubmissionResult(
        "张三", [CheckResult("softmax.shape", 1.0, 1.0, "passed")], "ok", info={}
    )
    late.apply(res, due + dt.timedelta(days=1, hours=3), due, late.LatePolicy(per_day=0.5))
    html_path, md_path = feedback.write_feedback(tmp_path, res)
    assert html_path.parent.name == "张三"
    md, html_text = md_path.read_text(encoding="utf-8"), html_path.read_text(encoding="utf-8")
    for text in (md, html_text):
        assert "1 d 3 h after the due date 2026-12-01T00:00:00+00:00" in text
        assert "late penalty: -1 points" in text
    assert "Feedback for 张三" in html_text
    failed = SubmissionResult(
        "amy", [CheckResult("softmax.shape", 0.0, 1.0, "grader_error", "x")], "grader_error"
    )
    assert "the grader failed, not your code" in feedback.render_markdown(failed)
