"""A unit's checks, each declared once: its id (also its key in the unit's POINTS), the function
that runs it, whether its full message is public, what else it needs, and how the feedback shows it."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType

_POINTS: contextvars.ContextVar[Mapping[str, float] | None] = contextvars.ContextVar(
    "unit_points", default=None
)


@contextlib.contextmanager
def points_in_effect(points: Mapping[str, float]):
    """Within this block, points_of() reads `points` (the unit whose checks are running)."""
    token = _POINTS.set(points)
    try:
        yield
    finally:
        _POINTS.reset(token)


def points_of(check_id: str) -> float:
    """The points of `check_id`: of the unit whose checks are running (points_in_effect), else of
    the one registered unit that declares it; 0 for a practice check, which no unit lists."""
    table = _POINTS.get()
    if table is not None:
        return float(table.get(check_id, 0))
    from autograder import units

    owners = [u for u in units.every() if check_id in u.points]
    if len(owners) > 1:
        raise LookupError(
            f"check {check_id!r} is declared by units {', '.join(u.name for u in owners)}: "
            "grade it within points_in_effect(unit.points)"
        )
    return float(owners[0].points[check_id]) if owners else 0.0


@dataclass(frozen=True)
class Check:
    id: str
    """"<graded function>.<aspect>"; the key of its points in the unit's POINTS."""
    run: Callable
    """run(caller) -> CheckResult."""
    describe: str = ""
    """What it verifies, in one line and the student's terms (an N_ message, English): the one
    description the notebook's hidden-test comment and the feedback show; its {placeholders} are
    filled from the configuration's numbers by description() (see description_numbers)."""
    public: bool = False
    """Its full message (input, expected) is shown to students (self-check, Gradescope)."""
    needs: tuple[str, ...] = ()
    """Other graded functions it calls: skipped when one of them is missing, forbidden or dead."""
    trains: bool = False
    """It trains a model (the self-check skips it unless asked)."""
    curve: str | None = None
    """Its training curve is drawn in the feedback, captioned with what was trained."""
    early_run: str | None = None
    """The training run (a caller's mode) it asks for, to start in a worker of its own while the
    other checks run, when cores are spare (sandbox/runner.py); declared on the first check that
    asks for that run."""

    practice: bool = False
    """A public check of the self-check only: never graded, earns nothing, not in config.POINTS
    (e.g. d2l's own overflow example, which a hidden graded check also covers)."""

    @property
    def function(self) -> str:
        return self.id.split(".")[0]

    def description(self) -> str:
        """describe in the current language, its {placeholders} filled (description_numbers)."""
        from autograder.i18n import _

        return _(self.describe).format(**description_numbers())


def description_numbers() -> dict[str, str]:
    """The numbers a check's description may name: {epochs} (a training run's), {trajectory_epochs}
    (the run compared with the grader's own SGD run), {lr}, {batch}, and the accuracy tiers:
    {full} (full points from), {half} (the next tier) and {half_share} (its share of the points)."""
    from autograder import config

    (full, _full_share), (half, half_share) = config.ACCURACY_TIERS[:2]
    return {
        "epochs": str(config.NUM_EPOCHS),
        "trajectory_epochs": str(config.TRAJECTORY_EPOCHS),
        "lr": f"{config.LR:g}",
        "batch": str(config.BATCH_SIZE),
        "full": f"{full:.2f}",
        "half": f"{half:.2f}",
        "half_share": f"{half_share:.0%}",
    }


class Registry:
    """The checks of a unit, in grading order, and their points (the unit's POINTS)."""

    def __init__(self, checks: list[Check], points: Mapping[str, float]):
        self.declared = tuple(checks)
        """Every check, practice ones included, in declaration order (what a self-check runs)."""
        self.checks = tuple(c for c in checks if not c.practice)
        """The graded checks, in grading order."""
        assert all(c.public for c in checks if c.practice), "a practice check must be public"
        assert len({c.id for c in checks}) == len(checks), "a check id is declared twice"
        self.by_id = {c.id: c for c in self.checks}
        assert len(self.by_id) == len(self.checks), "a check id is declared twice"
        self.points = MappingProxyType(
            {c.id: float(points[c.id]) for c in self.checks if c.id in points}
        )
        """check id -> points (a practice check has none: it earns nothing)."""
        if set(self.by_id) != set(points):
            raise ValueError(
                "the registry and the unit's POINTS disagree: "
                f"checks without points {sorted(set(self.by_id) - set(points))}, "
                f"points without a check {sorted(set(points) - set(self.by_id))}"
            )
        assert not {c.id for c in checks if c.practice} & set(points), "practice earns nothing"

    def points_of(self, check_id: str) -> float:
        """The points of `check_id` (0 for a practice check)."""
        return self.points.get(check_id, 0.0)

    def max_points(self) -> float:
        """The function checks' total."""
        return float(sum(self.points.values()))

    def __iter__(self) -> Iterator[Check]:
        return iter(self.checks)

    def __getitem__(self, check_id: str) -> Check:
        return self.by_id[check_id]

    @property
    def pairs(self) -> list[tuple[str, Callable]]:
        """(id, function) in grading order."""
        return [(c.id, c.run) for c in self.checks]

    @property
    def selfcheck_pairs(self) -> list[tuple[str, Callable]]:
        """(id, function) of the graded and the practice checks, in declaration order."""
        return [(c.id, c.run) for c in self.declared]

    @property
    def public(self) -> frozenset[str]:
        """The public checks, graded or practice."""
        return frozenset(c.id for c in self.declared if c.public)

    @property
    def practice(self) -> frozenset[str]:
        return frozenset(c.id for c in self.declared if c.practice)

    @property
    def training(self) -> frozenset[str]:
        return frozenset(c.id for c in self.checks if c.trains)

    @property
    def needs(self) -> dict[str, tuple[str, ...]]:
        return {c.id: c.needs for c in self.checks if c.needs}

    @property
    def curves(self) -> dict[str, str]:
        return {c.id: c.curve for c in self.checks if c.curve}

    def select(self, selector: str) -> list[tuple[str, Callable]]:
        """The (id, function) pairs for a check id ("softmax.values") or a function name ("softmax")."""
        chosen = [(c.id, c.run) for c in self.checks if selector in (c.id, c.function)]
        if not chosen:
            raise KeyError(
                f"unknown check or function {selector!r}; known: {', '.join(self.by_id)}"
            )
        return chosen
