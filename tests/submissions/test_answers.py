"""Answers read statically from a notebook: the answer cell first, literals only, nothing runs."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from autograder.submissions import answers


@dataclass(frozen=True)
class Spec:
    qid: str = "q9"
    variable: str = "q9_answer"

    def expected_format(self) -> str:
        return "a number"


def notebook(*cells):
    """A notebook of code cells given as (grade_id or None, source)."""
    made = []
    for gid, source in cells:
        meta = {"nbgrader": {"grade_id": gid}} if gid else {}
        made.append({"cell_type": "code", "metadata": meta, "source": source})
    return {"cells": made}


def test_the_answer_cell_wins_over_a_later_cell():
    nb = notebook(("q9", "q9_answer = 3"), (None, "q9_answer = 4"))
    assert answers.find_answer(nb, Spec()) == (3, "cell grade_id=q9")


def test_another_cell_counts_when_the_answer_cell_assigns_nothing():
    nb = notebook(("q9", "# answer here"), (None, "x, q9_answer = 1, 2.5"))
    assert answers.find_answer(nb, Spec()) == (2.5, "code cell 2")


def test_an_expression_is_refused_without_running_it(tmp_path):
    canary = tmp_path / "ran"
    nb = notebook(("q9", f"q9_answer = open({str(canary)!r}, 'w').write('x')"))
    with pytest.raises(answers.MalformedAnswer, match="literal value"):
        answers.find_answer(nb, Spec())
    assert not canary.exists()


def test_no_assignment_and_a_syntax_error_are_told_apart():
    with pytest.raises(answers.AnswerNotFound, match="q9_answer is not assigned"):
        answers.find_answer(notebook((None, "y = 1")), Spec())
    with pytest.raises(answers.MalformedAnswer, match="syntax error at line 1"):
        answers.find_answer(notebook(("q9", "q9_answer = (")), Spec())
