"""The units (graded assignments) this grader knows, looked up by nbgrader assignment name.

    unit = units.get("softmax_regression_zh")   # both editions are the softmax_regression unit
    unit.registry, unit.quiz, unit.caller, unit.calls, unit.data

A unit is a package under autograder/units/ (docs/adding-a-unit.md); its modules are imported
when first used, so looking a unit up imports nothing heavy, and the sandbox's worker, which reads
only `calls` and `data`, never imports the unit's checks, references or answer key.
"""

from __future__ import annotations

import importlib
from functools import cache
from types import ModuleType

from autograder import config


class Unit:
    """One unit's checks, quiz and training harness, each imported on first use."""

    def __init__(self, name: str):
        self.name = name
        self.package = f"{__name__}.{name}"

    def module(self, part: str) -> ModuleType:
        """The unit's module `part` ("checks", "quiz", "calls", ...)."""
        return importlib.import_module(f"{self.package}.{part}")

    @property
    def registry(self):
        """Its checks, each declared once (autograder/checks/registry.py)."""
        return self.module("checks").REGISTRY

    @property
    def quiz(self) -> ModuleType:
        """Its quiz: QUESTIONS, MANUAL_QUESTIONS, grade_quiz, find_answer, ..."""
        return self.module("quiz")

    @property
    def caller(self) -> ModuleType:
        """Its Caller interface (what checks call student code through)."""
        return self.module("caller")

    @property
    def calls(self) -> ModuleType:
        """Its harness: execute_call and run_training, run where the student's code runs."""
        return self.module("calls")

    @property
    def data(self) -> ModuleType:
        """Its data set (visible and hidden halves)."""
        return self.module("data")

    def __repr__(self) -> str:
        return f"Unit({self.name!r})"


def get(assignment: str | None = None) -> Unit:
    """The unit graded under nbgrader assignment `assignment` (default config.ASSIGNMENT)."""
    assignment = assignment or config.ASSIGNMENT
    if assignment not in config.UNITS:
        raise KeyError(
            f"unknown assignment {assignment!r}: config.UNITS lists {', '.join(sorted(config.UNITS))}"
        )
    return _unit(config.UNITS[assignment])


@cache
def _unit(name: str) -> Unit:
    return Unit(name)
