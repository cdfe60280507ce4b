"""autograder.units: assignments map to units, whose modules are imported only when used."""

from __future__ import annotations

import subprocess
import sys

import pytest

from autograder import config, units


def test_both_editions_are_one_unit():
    assert units.get("softmax_regression").name == units.get("softmax_regression_zh").name
    assert units.get() is units.get(config.ASSIGNMENT)
    assert set(config.UNITS) == set(config.EDITIONS)


def test_the_unit_gives_its_registry_and_quiz():
    unit = units.get("softmax_regression_zh")
    assert [c.id for c in unit.registry][0] == "softmax.shape"
    assert {q.check_id for q in unit.quiz.QUESTIONS} <= {
        f"quiz.{q.qid}" for q in unit.quiz.QUESTIONS
    }
    assert callable(unit.calls.execute_call) and callable(unit.data.split_indices)


def test_an_unknown_assignment_names_the_known_ones():
    with pytest.raises(KeyError, match="config.UNITS lists softmax_regression"):
        units.get("linear_regression")


def test_looking_a_unit_up_imports_none_of_its_modules():
    """The worker imports autograder.units on its way to `data`: that must not bring in the checks,
    the references or the quiz (secrets a worker must not hold)."""
    code = (
        "import sys; from autograder import units; unit = units.get('softmax_regression_zh'); "
        "print(sorted(m for m in sys.modules if m.startswith('autograder.units.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
