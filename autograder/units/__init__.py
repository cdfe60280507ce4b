"""The units (graded assignments) this grader knows, looked up by nbgrader assignment name.

    unit = units.get("softmax_regression_zh")   # both editions are the softmax_regression unit
    unit.points, unit.graded_functions, unit.main_notebook, ...   # its unit.py declarations
    unit.registry, unit.quiz, unit.caller, unit.calls, unit.data  # its modules

A unit is a package under autograder/units/ (docs/adding-a-unit.md): its ``unit.py`` declares
what the machinery needs (points, graded functions, notebooks, forbidden operators, demo calls,
training runs); its modules are imported when first used, so looking a unit up imports nothing
heavy, and the sandbox's worker, which reads only `calls` and `data`, never imports the unit's
checks, references or answer key. The machinery names no unit: it asks `get(assignment)`.
"""

from __future__ import annotations

import importlib
from functools import cache
from pathlib import Path
from types import ModuleType

from autograder import config

GENERIC_DEMO_CALLS = frozenset({"print", "display", "get_ipython", "input", "breakpoint"})
"""Calls that make a top-level assignment a demo in every unit (output, interaction)."""


class Unit:
    """One unit's checks, quiz and training harness, each imported on first use."""

    def __init__(self, name: str):
        self.name = name
        self.package = f"{__name__}.{name}"

    def module(self, part: str) -> ModuleType:
        """The unit's module `part` ("checks", "quiz", "calls", ...)."""
        return importlib.import_module(f"{self.package}.{part}")

    def optional(self, part: str) -> ModuleType | None:
        """The unit's module `part`, or None where the unit has none (a unit without data)."""
        try:
            return self.module(part)
        except ModuleNotFoundError as err:
            if err.name == f"{self.package}.{part}":
                return None
            raise

    @property
    def spec(self) -> ModuleType:
        """Its declarations (unit.py): light, importable anywhere the grader runs."""
        return self.module("unit")

    def _declared(self, name, default=None):
        return getattr(self.spec, name, default)

    @property
    def title(self) -> str:
        """What the feedback calls the assignment (an N_ message: translate where shown)."""
        return self._declared("TITLE", self.name)

    @property
    def points(self) -> dict[str, float]:
        """check id -> points, in grading order."""
        return dict(self.spec.POINTS)

    def max_points(self) -> float:
        """Total points of the function checks (the quiz adds its own)."""
        return float(sum(self.spec.POINTS.values()))

    @property
    def graded_functions(self) -> tuple[str, ...]:
        """Functions students write, in grading order (each the grade_id of its solution cell)."""
        return tuple(self.spec.GRADED_FUNCTIONS)

    @property
    def solution_cell_functions(self) -> dict[str, tuple[str, ...]]:
        """grade_id -> the functions its solution cell defines, where it is more than its own."""
        return dict(self._declared("SOLUTION_CELL_FUNCTIONS", {}))

    @property
    def main_notebook(self) -> str:
        return self.spec.MAIN_NOTEBOOK

    @property
    def quiz_notebook(self) -> str | None:
        return self._declared("QUIZ_NOTEBOOK")

    @property
    def notebooks(self) -> tuple[str, ...]:
        """Its notebooks, the graded one first."""
        return tuple(n for n in (self.main_notebook, self.quiz_notebook) if n)

    @property
    def helpers(self) -> tuple[str, ...]:
        """Release files students get beside the notebooks."""
        return tuple(self._declared("HELPERS", ()))

    @property
    def columns(self) -> tuple[str, ...]:
        """The per-function score columns of grades.csv and the report (the quiz last)."""
        return (*self.graded_functions, *(("quiz",) if self.quiz_notebook else ()))

    @property
    def forbidden_ops(self) -> dict[str, tuple[str, ...]]:
        """graded function -> kernel-level operators it may not reach."""
        return dict(self._declared("FORBIDDEN_OPS", {}))

    @property
    def forbidden_builtins(self) -> dict[str, tuple[str, ...]]:
        """graded function -> names its source may not use."""
        return dict(self._declared("FORBIDDEN_BUILTINS", {}))

    @property
    def demo_calls(self) -> frozenset[str]:
        """Calls that make a top-level assignment a demo (this unit's and every unit's)."""
        return GENERIC_DEMO_CALLS | frozenset(self._declared("DEMO_CALLS", ()))

    @property
    def setup_calls(self) -> frozenset[str]:
        """Names of calls kept as definitions when a top-level statement is only that call
        (``net.apply(init_weights)``)."""
        return frozenset(self._declared("SETUP_CALLS", ()))

    @property
    def other_functions(self) -> dict[str, str]:
        """check id -> the functions it runs besides its own (an N_ message)."""
        return dict(self._declared("OTHER_FUNCTIONS", {}))

    @property
    def accuracy_checks(self) -> tuple[str, ...]:
        """Checks whose test accuracy the report and Gradescope show."""
        return tuple(self._declared("ACCURACY_CHECKS", ()))

    @property
    def reference_runs(self) -> tuple[str, ...]:
        """Training modes whose reference run the fork server computes ahead (references.sgd_run)."""
        return tuple(self._declared("REFERENCE_RUNS", ()))

    @property
    def training_label(self) -> str:
        """What a training worker is doing (an N_ message)."""
        return self._declared("TRAINING_LABEL", "training")

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

    @property
    def references(self) -> ModuleType:
        """The grader's own implementations (never imported where student code runs)."""
        return self.module("references")

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


def by_name(name: str) -> Unit:
    """The unit whose package is autograder/units/<name>/ (one config.UNITS names)."""
    if name not in set(config.UNITS.values()):
        raise KeyError(
            f"unknown unit {name!r}: config.UNITS names {', '.join(sorted(set(config.UNITS.values())))}"
        )
    return _unit(name)


def every() -> list[Unit]:
    """Every unit the course registers (config.UNITS), once each, in registration order."""
    return [_unit(name) for name in dict.fromkeys(config.UNITS.values())]


def assignments_of(unit: Unit) -> list[str]:
    """The nbgrader assignments (editions) graded by `unit`."""
    return [a for a, name in config.UNITS.items() if name == unit.name]


@cache
def _unit(name: str) -> Unit:
    return Unit(name)


def _register_path(folders) -> None:
    """Register the units found in `folders` (config.UNITS_PATH): each subfolder holding a unit.py
    whose EDITIONS (assignment -> language) names the assignments it grades."""
    for folder in map(Path, folders):
        if not folder.is_dir():
            raise FileNotFoundError(f"SOFTMAX_UNITS_PATH: {folder} is not a folder")
        if str(folder) not in __path__:
            __path__.append(str(folder))
        for spec in sorted(folder.glob("*/unit.py")):
            name = spec.parent.name
            if not name.isidentifier() or name in set(config.UNITS.values()):
                raise ValueError(f"{spec}: a unit's folder name must be a new Python identifier")
            editions = getattr(importlib.import_module(f"{__name__}.{name}.unit"), "EDITIONS", None)
            if not isinstance(editions, dict) or not editions:
                raise ValueError(f"{spec}: EDITIONS (assignment -> language) is missing")
            for assignment, language in editions.items():
                if assignment in config.UNITS:
                    raise ValueError(f"{spec}: assignment {assignment!r} is already registered")
                config.UNITS[assignment] = name
                config.EDITIONS[assignment] = language


_register_path(config.UNITS_PATH)
