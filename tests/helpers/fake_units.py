"""A throw-away unit registered for one test (``from helpers.fake_units import fake_unit``).

What another unit's notebooks, submissions and results look like to the machinery.
"""

from __future__ import annotations

import sys
import types

from autograder import config, units


def fake_unit(monkeypatch, name, editions=None, curves=None, manual=(), **declared) -> units.Unit:
    """Register, until `monkeypatch` is undone, a unit `name` graded under `editions` (assignment
    -> language; default {name: "en"}) whose unit.py declares `declared`, whose checks draw the
    curves `curves` (check id -> caption) and whose quiz has the manual questions `manual`."""
    parts = {
        "unit": {"MAIN_NOTEBOOK": f"{name}.ipynb", "QUIZ_NOTEBOOK": None, "POINTS": {}, **declared},
        "checks": {"REGISTRY": types.SimpleNamespace(curves=dict(curves or {}))},
        "quiz": {"MANUAL_QUESTIONS": tuple(manual)},
    }
    for part, attributes in parts.items():
        module = types.ModuleType(f"autograder.units.{name}.{part}")
        module.__dict__.update(attributes)
        monkeypatch.setitem(sys.modules, module.__name__, module)
    editions = editions or {name: "en"}
    for assignment, language in editions.items():
        monkeypatch.setitem(config.UNITS, assignment, name)
        monkeypatch.setitem(config.EDITIONS, assignment, language)
    return units.get(next(iter(editions)))
