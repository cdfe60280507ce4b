"""The concise unit's quiz: its key, its notebook, and the first unit's quiz code it reuses."""

from __future__ import annotations

import copy
import dis
import json
import math
import types
from pathlib import Path

import pytest
from helpers.paths import ROOT

from autograder import config, i18n
from autograder.units.softmax_regression import quiz as first
from autograder.units.softmax_regression_concise import quiz

SOURCE = ROOT / "source" / "softmax_regression_concise"
SOURCE_QUIZ = SOURCE / "quiz.ipynb"
KEY = json.loads(quiz.KEY_FILE.read_text())["answers"]
POINTS = config.QUIZ.points_per_question


def load_notebook(path: Path) -> dict:
    """A notebook as plain JSON, each cell's source joined into one string."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        cell["source"] = "".join(cell["source"])
    return nb


def by_grade_id(nb: dict) -> dict[str, dict]:
    """grade_id -> cell."""
    return {
        c["metadata"]["nbgrader"]["grade_id"]: c for c in nb["cells"] if "nbgrader" in c["metadata"]
    }


def wrong_value(q):
    """A well-formed answer to q that is not the key."""
    if q.kind == "choice":
        return next(c for c in config.QUIZ.choices if c != KEY[q.qid])
    return KEY[q.qid] * 2 + 1


def answered(values: dict) -> dict:
    """The source quiz notebook with each answer cell assigning values[qid] instead."""
    nb = load_notebook(SOURCE_QUIZ)
    cells = by_grade_id(nb)
    for q in quiz.QUESTIONS:
        cells[q.qid]["source"] = f"{q.variable} = {values[q.qid]!r}"
    return nb


def test_question_specs():
    ids = [q.qid for q in quiz.QUESTIONS]
    assert len(ids) >= 6 and ids == [f"q{i}" for i in range(1, len(ids) + 1)]
    assert {q.kind for q in quiz.QUESTIONS} == {"choice", "number"}
    for q in quiz.QUESTIONS:
        assert q.kind in quiz.KINDS and q.variable == f"{q.qid}_answer" and q.topic
    assert [m.qid for m in quiz.MANUAL_QUESTIONS] == ["m1", "m2"]
    assert all(m.points == config.QUIZ.manual_points for m in quiz.MANUAL_QUESTIONS)
    assert quiz.max_points() == len(ids) * POINTS


def test_key_answers_exactly_the_questions_in_their_formats():
    assert set(KEY) == {q.qid for q in quiz.QUESTIONS} == set(quiz._key())
    for qid, answer in KEY.items():
        assert quiz.validate(qid, answer) is None and quiz.is_correct(qid, answer), qid


def test_the_key_says_what_the_section_says():
    """The numeric answers are the facts the questions ask for, computed here."""
    import torch

    assert math.isclose(KEY["q2"], 1000 + math.log(2), rel_tol=1e-9)
    lse = torch.logsumexp(torch.tensor([1000.0, 1000.0], dtype=torch.float64), 0)
    assert quiz.is_correct("q2", float(lse))
    assert KEY["q6"] == 0
    o = torch.zeros(1, 4, dtype=torch.float64, requires_grad=True)
    torch.nn.functional.cross_entropy(o, torch.tensor([0])).backward()
    assert quiz.is_correct("q7", float(o.grad[0, 0])) and KEY["q7"] == -0.75
    assert torch.nn.Flatten()(torch.zeros(256, 1, 28, 28)).shape == (256, 784)  # q8 (c)


def test_the_source_solutions_get_full_marks():
    results = quiz.grade_quiz(SOURCE_QUIZ)
    assert [r.check_id for r in results] == [q.check_id for q in quiz.QUESTIONS]
    assert [(r.check_id, r.status) for r in results if not r.passed] == []
    assert all(r.score == r.max_score == POINTS for r in results)


def test_wrong_answers_get_zero_without_the_key_in_the_message(tmp_path):
    path = tmp_path / "quiz.ipynb"
    path.write_text(json.dumps(answered({q.qid: wrong_value(q) for q in quiz.QUESTIONS})))
    results = quiz.grade_quiz(path)
    assert [r.status for r in results] == ["failed"] * len(quiz.QUESTIONS)
    assert all(r.score == 0 and r.max_score == POINTS for r in results)
    for q, r in zip(quiz.QUESTIONS, results, strict=True):
        assert r.message == f"wrong answer ({q.topic})"
        assert repr(KEY[q.qid]) not in r.message and json.dumps(KEY[q.qid]) not in r.message


@pytest.mark.parametrize("q", quiz.QUESTIONS, ids=lambda q: q.qid)
def test_check_answer_accepts_the_key_and_rejects_a_wrong_answer(q):
    assert quiz.check_answer(q.qid, KEY[q.qid]) is None
    with pytest.raises(AssertionError, match=rf"^wrong answer to {q.qid} "):
        quiz.check_answer(q.qid, wrong_value(q))


def test_numeric_tolerances_tell_the_answers_apart():
    assert quiz.is_correct("q2", 1000.693) and quiz.is_correct("q2", "1000.6931")
    assert not quiz.is_correct("q2", 1000) and not quiz.is_correct("q2", 1000.69)
    assert quiz.is_correct("q6", 0) and quiz.is_correct("q6", 0.0) and quiz.is_correct("q6", -0.0)
    assert not quiz.is_correct("q6", 1e-12)
    assert quiz.is_correct("q7", -0.75) and not quiz.is_correct("q7", 0.75)
    assert not quiz.is_correct("q7", -0.25)  # 1/q - 1 with q = 4, not 1/q


def test_the_first_units_code_reads_this_quiz():
    """The rebound functions use this module's questions and key, the first unit's keep theirs."""
    assert quiz.grade_quiz.__module__ == quiz.__name__ and quiz.grade_quiz is not first.grade_quiz
    assert quiz.is_correct("q1", "b") and not first.is_correct("q1", "b")
    assert quiz.question("q8").topic != first.question("q8").topic
    with pytest.raises(KeyError, match="q9"):
        quiz.question("q9")  # the first unit has a q9; this quiz does not
    assert first.question("q9").qid == "q9"


def _global_names(code: types.CodeType) -> set[str]:
    """The global names a code object (and the code objects nested in it) loads."""
    names = {i.argval for i in dis.get_instructions(code) if i.opname == "LOAD_GLOBAL"}
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names


@pytest.mark.parametrize("function", quiz.REBOUND, ids=lambda f: f.__name__)
def test_every_rebound_function_finds_its_globals_here(function):
    """A name the first unit's quiz adds to one of these functions must be offered here too."""
    assert function.__globals__ is vars(quiz)
    builtins = vars(__builtins__) if isinstance(__builtins__, types.ModuleType) else __builtins__
    missing = {n for n in _global_names(function.__code__) if n not in vars(quiz)} - set(builtins)
    assert not missing, f"{function.__name__} needs {missing} in {quiz.__name__}"


def test_every_question_is_reachable_in_the_notebook():
    nb = load_notebook(SOURCE_QUIZ)
    cells = by_grade_id(nb)
    solutions = [c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("solution")]
    assert [c["metadata"]["nbgrader"]["grade_id"] for c in solutions] == [
        *(q.qid for q in quiz.QUESTIONS),
        *(m.qid for m in quiz.MANUAL_QUESTIONS),
    ]
    for q in quiz.QUESTIONS:
        answer, test = cells[q.qid], cells[f"test_{q.qid}"]
        assert answer["cell_type"] == "code" and answer["source"].startswith(
            f"# Answer: {q.variable} = "
        )
        assert cells_before(nb, answer).startswith(f"Question {q.qid[1:]} (")
        visible, hidden = test["source"].split("### BEGIN HIDDEN TESTS")
        assert q.variable in visible and "autograder" not in visible
        assert f'confined grader: check "{q.check_id}"' in hidden and "import" not in hidden
        assert test["metadata"]["nbgrader"]["points"] == POINTS
        assert (
            test["metadata"]["nbgrader"]["grade"] and not test["metadata"]["nbgrader"]["solution"]
        )
    for m in quiz.MANUAL_QUESTIONS:
        meta = cells[m.qid]["metadata"]["nbgrader"]
        assert cells[m.qid]["cell_type"] == "markdown" and meta["solution"] and meta["grade"]
        assert meta["points"] == m.points


def cells_before(nb: dict, cell: dict) -> str:
    """The Markdown cell just before `cell` (its question), with "**" removed."""
    index = nb["cells"].index(cell)
    return nb["cells"][index - 1]["source"].replace("**", "")


def test_a_blank_answer_cell_is_missing_not_wrong(tmp_path):
    nb = load_notebook(SOURCE_QUIZ)
    for q in quiz.QUESTIONS:
        by_grade_id(nb)[q.qid]["source"] = "# YOUR CODE HERE\nraise NotImplementedError()"
    path = tmp_path / "quiz.ipynb"
    path.write_text(json.dumps(nb))
    assert {r.status for r in quiz.grade_quiz(path)} == {"missing"}


@pytest.mark.parametrize("q", quiz.QUESTIONS, ids=lambda q: q.qid)
def test_visible_format_check_agrees_with_validate(q):
    """What the check students run accepts, the grader accepts (the grader is at least as lenient)."""
    visible = by_grade_id(load_notebook(SOURCE_QUIZ))[f"test_{q.qid}"]["source"]
    visible = visible.split("### BEGIN HIDDEN TESTS")[0]
    for value in [*config.QUIZ.choices, "A", "", "e", 0, 1, 2.5, -0.75, True, None, "2.3", [1]]:
        try:
            exec(compile(visible, f"test_{q.qid}", "exec"), {q.variable: copy.copy(value)})
        except AssertionError:
            continue
        assert quiz.validate(q.qid, value) is None, (q.qid, value)


def test_topics_are_translated():
    with i18n.use("zh_CN"):
        for q in [*quiz.QUESTIONS, *quiz.MANUAL_QUESTIONS]:
            assert i18n._(q.topic) != q.topic, q.qid
        with pytest.raises(AssertionError, match=r"^q3 答错了"):
            quiz.check_answer("q3", "a", lang="zh_CN")


def test_the_key_lives_only_in_the_grader():
    assert not list(SOURCE.rglob("answer_key*"))
    text = SOURCE_QUIZ.read_text(encoding="utf-8")
    assert "answer_key" not in text and "check_answer" not in text
