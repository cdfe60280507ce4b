"""The quiz: answer formats, the hidden check, static grading of notebooks, and where the key lives."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from helpers.paths import EXAMPLES, FILES, ROOT

from autograder import config
from autograder.units.softmax_regression import quiz
from autograder.units.softmax_regression import unit as softmax_unit

SOURCE_QUIZ = ROOT / "source" / config.ASSIGNMENT / softmax_unit.QUIZ_NOTEBOOK
QUIZ_FILES = FILES / "quiz"
KEY = json.loads(quiz.KEY_FILE.read_text())["answers"]
CHOICE = [q for q in quiz.QUESTIONS if q.kind == "choice"]
NUMBER = [q for q in quiz.QUESTIONS if q.kind == "number"]


def statuses(results) -> dict[str, str]:
    """qid -> status of grade_quiz results."""
    return {r.check_id.removeprefix("quiz."): r.status for r in results}


def wrong_value(q: quiz.Question):
    """A well-formed answer to q that is not the key."""
    if q.kind == "choice":
        return next(c for c in config.QUIZ.choices if c != KEY[q.qid])
    return KEY[q.qid] * 2 + 1


def test_question_specs():
    ids = [q.qid for q in quiz.QUESTIONS]
    assert len(ids) >= 8 and ids == [f"q{i}" for i in range(1, len(ids) + 1)]
    for q in quiz.QUESTIONS:
        assert q.kind in quiz.KINDS and q.variable == f"{q.qid}_answer" and q.topic
        assert q.check_id == f"quiz.{q.qid}"
    assert CHOICE and NUMBER, "the quiz has both multiple-choice and numeric questions"
    assert len(quiz.MANUAL_QUESTIONS) >= 3
    assert all(m.points > 0 for m in quiz.MANUAL_QUESTIONS)
    assert quiz.max_points() == len(ids) * config.QUIZ.points_per_question


def test_key_answers_exactly_the_questions_in_their_formats():
    assert set(KEY) == {q.qid for q in quiz.QUESTIONS}
    for qid, answer in KEY.items():
        assert quiz.validate(qid, answer) is None, qid
        assert quiz.is_correct(qid, answer), qid


@pytest.mark.parametrize("letter", config.QUIZ.choices)
def test_every_letter_is_well_formed(letter):
    assert all(quiz.validate(q.qid, letter) is None for q in CHOICE)


@pytest.mark.parametrize(
    "value", ["e", "", "ab", "(e)", "a b", "a)b", "((((a))))", 1, None, ["a"], b"a", True]
)
def test_malformed_letters_name_the_format(value):
    for q in CHOICE:
        message = quiz.validate(q.qid, value)
        assert message and q.variable in message and "one lowercase letter" in message, value
        with pytest.raises(AssertionError, match=r"^malformed: .*one lowercase letter"):
            quiz.check_answer(q.qid, value)


@pytest.mark.parametrize("value", [0, 1, -3, 2.5, 1e-9, 7850.0])
def test_numbers_are_well_formed(value):
    assert all(quiz.validate(q.qid, value) is None for q in NUMBER)


@pytest.mark.parametrize(
    "value",
    ["2,3", "1,000", "2.3.4", "about 2.3", "", "nan", "inf", "1e999",
     True, None, [1.0], math.nan, math.inf, -math.inf, 1j],
)  # fmt: skip
def test_malformed_numbers_name_the_format(value):
    for q in NUMBER:
        message = quiz.validate(q.qid, value)
        assert message and q.variable in message and "number" in message, value
        with pytest.raises(AssertionError, match=r"^malformed: "):
            quiz.check_answer(q.qid, value)


@pytest.mark.parametrize("q", quiz.QUESTIONS, ids=lambda q: q.qid)
def test_check_answer_accepts_the_key_and_rejects_without_revealing_it(q):
    assert quiz.check_answer(q.qid, KEY[q.qid]) is None
    with pytest.raises(AssertionError) as err:
        quiz.check_answer(q.qid, wrong_value(q))
    message = str(err.value)
    assert message.startswith(f"wrong answer to {q.qid}")
    assert json.dumps(KEY[q.qid]) not in message and repr(KEY[q.qid]) not in message
    assert f"({KEY[q.qid]})" not in message


def test_numeric_tolerances():
    q7, q10 = quiz.question("q7"), quiz.question("q10")
    rtol = config.QUIZ.numeric_rtol
    assert quiz.is_correct("q7", KEY["q7"] * (1 + rtol / 2))
    assert not quiz.is_correct("q7", KEY["q7"] * (1 + 2 * rtol))
    assert q7.rtol is None and q10.rtol == 0
    assert quiz.is_correct("q10", float(KEY["q10"])) and not quiz.is_correct("q10", KEY["q10"] + 1)


def test_unknown_question_is_an_error():
    with pytest.raises(KeyError, match="q99"):
        quiz.validate("q99", "a")


@pytest.mark.parametrize(
    "typed, read",
    [("B", "b"), ("ｂ", "b"), ("Ｂ", "b"), (" b", "b"), ("b\n", "b"), ("(b)", "b"), ("（ｂ）", "b"),
     ("b)", "b"), ("b.", "b"), (" (B). ", "b"), ("\u3000b\u3000", "b")],
)  # fmt: skip
def test_letters_are_normalised_on_every_path(typed, read):
    """Answers typed on any keyboard are read as the letter, by validate, is_correct and the
    nbgrader hidden test (check_answer) alike."""
    assert quiz.normalise("q2", typed) == read
    assert quiz.validate("q2", typed) is None
    key = quiz._key()["q2"]
    assert quiz.is_correct("q2", typed) == (read == key)
    if read == key:
        quiz.check_answer("q2", typed)  # the nbgrader path accepts it too
    else:
        with pytest.raises(AssertionError, match="wrong answer"):
            quiz.check_answer("q2", typed)


@pytest.mark.parametrize(
    "typed, read",
    [("2.302585", 2.302585), (" 2.302585 ", 2.302585), ("２.３０２５８５", 2.302585),
     ("(2.302585)", 2.302585), ("7850", 7850), ("7850.0", 7850.0), ("7.85e3", 7850.0),
     ("\u22123", -3), ("+4", 4)],
)  # fmt: skip
def test_numbers_given_as_strings_are_read_when_unambiguous(typed, read):
    for q in NUMBER:
        got = quiz.normalise(q.qid, typed)
        assert got == read and type(got) is type(read), (typed, got)
        assert quiz.validate(q.qid, typed) is None
    quiz.check_answer("q10", "7850")
    quiz.check_answer("q7", "2.302585")


def test_normalise_leaves_what_it_cannot_read_unchanged():
    assert quiz.normalise("q1", "z") == "z" and quiz.normalise("q1", 3) == 3
    assert quiz.normalise("q7", "2,3") == "2,3" and quiz.normalise("q7", True) is True
    assert quiz.normalise("q7", 2.5) == 2.5


def test_grade_question_records_what_the_answer_was_read_as(tmp_path):
    nb = {"cells": [{"cell_type": "code", "metadata": {"nbgrader": {"grade_id": "q2"}},
                     "source": 'q2_answer = "（Ｂ）"'}]}  # fmt: skip
    res = quiz.grade_question(nb, quiz.question("q2"))
    assert res.status == "passed" and res.details["read_as"] == "b"
    assert res.details["answer"] == "（Ｂ）"


def test_the_source_solutions_are_the_key():
    results = quiz.grade_quiz(SOURCE_QUIZ)
    assert [r.check_id for r in results] == [q.check_id for q in quiz.QUESTIONS]
    assert [(r.check_id, r.status, r.message) for r in results if not r.passed] == []


EXPECTED_EXAMPLES = {
    "alice_full": {},
    "bob_naive_softmax": {},
    "carol_blank": {q.qid: "missing" for q in quiz.QUESTIONS},
    "dave_wrong_axis": {"q1": "failed", "q5": "failed", "q7": "malformed"},
    "张三": {},
    "李四_mixed": {"q1": "failed", "q5": "failed", "q7": "malformed"},
    "王芳": {},  # the Chinese edition (softmax_regression_zh/)
    "刘洋": {"q2": "failed"},
    "erin_alternative": {},
    "frank_builtins": {qid: "missing" for qid in ("q6", "q7", "q8", "q9", "q10")},
}
"""student -> the questions that do not pass (all others pass)."""


@pytest.mark.parametrize("student", sorted(EXPECTED_EXAMPLES))
def test_grade_quiz_on_the_example_class(student):
    (folder,) = [p for p in (EXAMPLES / student).iterdir() if p.is_dir()]  # the edition's folder
    path = folder / softmax_unit.QUIZ_NOTEBOOK
    results = quiz.grade_quiz(path)
    want = {q.qid: EXPECTED_EXAMPLES[student].get(q.qid, "passed") for q in quiz.QUESTIONS}
    assert statuses(results) == want
    for r in results:
        assert r.max_score == config.QUIZ.points_per_question
        assert r.score == (r.max_score if r.status == "passed" else 0)
        assert (r.message == "") == r.passed
    assert sorted(EXPECTED_EXAMPLES) == sorted(p.name for p in EXAMPLES.iterdir())


def test_malformed_answer_message_names_the_format():
    path = EXAMPLES / "dave_wrong_axis" / config.ASSIGNMENT / softmax_unit.QUIZ_NOTEBOOK
    q7 = next(r for r in quiz.grade_quiz(path) if r.check_id == "quiz.q7")
    assert "q7_answer must be a number" in q7.message and q7.details["answer"] == "2,3"
    missing = quiz.grade_quiz(
        EXAMPLES / "carol_blank" / config.ASSIGNMENT / softmax_unit.QUIZ_NOTEBOOK
    )
    assert "q1_answer" in missing[0].message and 'one of "a"' in missing[0].message


def test_answers_are_read_statically_never_executed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    results = quiz.grade_quiz(QUIZ_FILES / "edge_cases.ipynb")
    assert statuses(results) == {
        "q1": "malformed",  # an expression ("c".upper()), not a literal
        "q2": "malformed",  # syntax error in the answer cell
        "q3": "passed",  # assigned in a later cell without grade_id
        "q4": "malformed",  # a call: rejected, and not run
        "q5": "passed",  # annotated assignment
        "q6": "passed",  # tuple assignment
        "q7": "passed",  # the last assignment in the cell counts; magics are ignored
        "q8": "passed",  # assigned in q6's cell
        "q9": "passed",  # "A": read as "a" (answers are normalised)
        "q10": "passed",  # the answer cell wins over a later cell
    }
    assert not (tmp_path / "quiz-fixture-was-executed").exists()
    messages = {r.check_id: r.message for r in results}
    assert "literal" in messages["quiz.q1"] and "syntax error" in messages["quiz.q2"]
    assert (
        next(r for r in results if r.check_id == "quiz.q3").details["where"].startswith("code cell")
    )


def test_unreadable_or_absent_notebooks(tmp_path):
    broken = tmp_path / "quiz.ipynb"
    broken.write_text('{"cells": [ this is not json')
    results = quiz.grade_quiz(broken)
    assert len(results) == len(quiz.QUESTIONS)
    assert all(r.status == "malformed" and "quiz.ipynb" in r.message for r in results)
    absent = quiz.grade_quiz(tmp_path / "nothing" / "quiz.ipynb")
    assert all(r.status == "missing" and r.score == 0 for r in absent)


def test_the_key_lives_only_in_the_grader():
    for folder in ("source", "release", "examples"):
        assert not list((ROOT / folder).rglob("answer_key*")), folder
    text = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "release").rglob("*.ipynb"))
    assert "check_answer" not in text and "answer_key" not in text


def load_cells(path: Path) -> dict[str, dict]:
    """grade_id -> cell (with its source joined) of a notebook."""
    cells = {}
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        cell["source"] = "".join(cell["source"])
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid:
            cells[gid] = cell
    return cells


def test_quiz_notebook_cells_follow_the_specs():
    cells = load_cells(SOURCE_QUIZ)
    for q in quiz.QUESTIONS:
        answer, test = cells[q.qid], cells[f"test_{q.qid}"]
        assert answer["metadata"]["nbgrader"]["solution"] and answer["cell_type"] == "code"
        assert answer["source"].startswith(f"# Answer: {q.variable} = ")
        visible, hidden = test["source"].split("### BEGIN HIDDEN TESTS")
        assert "autograder" not in visible and q.variable in visible
        assert f'confined grader: check "{q.check_id}"' in hidden and "import" not in hidden
        assert test["metadata"]["nbgrader"]["points"] == config.QUIZ.points_per_question
    for m in quiz.MANUAL_QUESTIONS:
        meta = cells[m.qid]["metadata"]["nbgrader"]
        assert cells[m.qid]["cell_type"] == "markdown" and meta["solution"] and meta["grade"]
        assert meta["points"] == m.points


@pytest.mark.parametrize("q", quiz.QUESTIONS, ids=lambda q: q.qid)
def test_visible_format_check_agrees_with_validate(q):
    """The plain-Python check students run accepts exactly what the grader calls well-formed."""
    visible = load_cells(SOURCE_QUIZ)[f"test_{q.qid}"]["source"].split("### BEGIN HIDDEN TESTS")[0]
    values = [*config.QUIZ.choices, "A", "", "e", 1, 2.5, -1, True, None, "2.3", [1], math.nan]
    # The grader is at least as lenient as the visible check: what it accepts, the grader accepts
    # (the grader also normalises "A" or "2.3", which the visible check still asks to rewrite).
    for value in values:
        try:
            exec(compile(visible, f"test_{q.qid}", "exec"), {q.variable: value})
            accepted = True
        except AssertionError:
            accepted = False
        if isinstance(value, float) and math.isnan(value):
            assert not accepted or quiz.validate(q.qid, value) is not None
            continue
        if accepted:
            assert quiz.validate(q.qid, value) is None, (q.qid, value)
        elif quiz.validate(q.qid, value) is None:
            assert quiz.normalise(q.qid, value) != value or isinstance(value, str), (q.qid, value)


def test_quiz_messages_follow_the_language(tmp_path, monkeypatch):
    from autograder import i18n

    monkeypatch.delenv(i18n.OVERRIDE_ENV, raising=False)
    with pytest.raises(AssertionError, match=r"^q1 答错了（平移不变性"):
        quiz.check_answer("q1", wrong_value(quiz.question("q1")), lang="zh_CN")
    with pytest.raises(AssertionError, match=r"^格式错误：q1_answer 必须是带引号的一个小写字母"):
        quiz.check_answer("q1", 3, lang="zh_CN")
    monkeypatch.chdir(config.release_dir("softmax_regression_zh"))  # a Chinese quiz's kernel
    with pytest.raises(AssertionError, match="答错了"):
        quiz.check_answer("q1", wrong_value(quiz.question("q1")))
    with i18n.use("zh_CN"):
        graded = quiz.grade_quiz(tmp_path / softmax_unit.QUIZ_NOTEBOOK)
    assert graded[0].message.startswith(f"没有提交 {softmax_unit.QUIZ_NOTEBOOK}")


# -- non-finite and huge answers are graded, never crash the run (issue 20, item 4) ----------------------
@pytest.mark.parametrize("source", ["q7_answer = 1e999", "q7_answer = -1e999", "q7_answer = '1e999'",
                                    "q7_answer = 'x' * 3", "q7_answer = '" + "9" * 100_000 + "'"])  # fmt: skip
def test_a_non_finite_or_huge_answer_is_graded_wrong_with_a_message_and_written(source, tmp_path):
    from autograder.checks.outcome import SubmissionResult
    from autograder.results import exports

    nb = {
        "cells": [
            {"cell_type": "code", "source": source, "metadata": {"nbgrader": {"grade_id": "q7"}}}
        ]
    }
    res = quiz.grade_question(nb, quiz.BY_ID["q7"])
    assert res.score == 0.0 and res.status in ("malformed", "failed") and res.message
    json.dumps(res.details, allow_nan=False)  # what the quiz keeps is plain JSON
    assert len(json.dumps(res.details)) < 1000
    exports.write_result(tmp_path, SubmissionResult("eve", [res]))
