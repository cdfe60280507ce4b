"""How pytest-xdist shares out the suite: shared fixtures keep their tests together, longest first.

``bash scripts/test.sh`` runs ``-n auto --dist loadgroup --no-loadscope-reorder``; tests/conftest.py
calls assign() and longest_first() where an xdist worker collects."""

from __future__ import annotations

import json

import pytest

from helpers.paths import TESTS

SHARED_SCOPES = ("module", "package", "session")
"""Fixtures of these scopes are computed once per worker: the tests that share one go together."""

CHEAP = frozenset({"root", "examples", "tmp_path_factory", "worker_id", "testrun_uid"})
"""Session fixtures that cost nothing to compute twice (a path, pytest's own): they group nothing."""

DURATIONS = TESTS / "durations.json"
"""Seconds per test of a measured run (scripts/test_durations.py): only the order of work uses it."""

UNKNOWN_SECONDS = 0.1
"""What a test missing from DURATIONS is taken to cost (a new or a quick test)."""


def shared_fixtures(item) -> list[str]:
    """Keys of the expensive module and session fixtures `item` uses: where the fixture is defined,
    its name and, for a parametrized one, the parameter's index (each is its own instance)."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return []
    callspec = getattr(item, "callspec", None)
    keys = []
    for name in item.fixturenames:
        defs = info.name2fixturedefs.get(name)
        if not defs or name in CHEAP or defs[-1].scope not in SHARED_SCOPES:
            continue
        fixturedef = defs[-1]
        where = item.module.__name__ if fixturedef.scope == "module" else fixturedef.baseid
        index = callspec.indices.get(name) if callspec is not None else None
        keys.append(f"{where}::{name}" + ("" if index is None else f"[{index}]"))
    return keys


def assign(items) -> dict[str, list]:
    """Mark the items that share an expensive fixture with one ``xdist_group`` (items linked through
    any chain of shared fixtures get the same one); returns group name -> items."""
    parent: dict[str, str] = {}

    def find(key: str) -> str:
        while parent.setdefault(key, key) != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    keys_of = {}
    for item in items:
        keys_of[item.nodeid] = keys = shared_fixtures(item)
        for key in keys[1:]:
            parent[find(key)] = find(keys[0])
    groups: dict[str, list] = {}
    for item in items:
        keys = keys_of[item.nodeid]
        if keys:
            group = find(keys[0])
            groups.setdefault(group, []).append(item)
            item.add_marker(pytest.mark.xdist_group(group))
    return groups


def durations() -> dict[str, float]:
    """nodeid -> seconds, from DURATIONS ({} when missing or unreadable)."""
    try:
        found = json.loads(DURATIONS.read_text(encoding="utf-8"))["seconds"]
        return {str(k): float(v) for k, v in found.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def longest_first(items, groups: dict[str, list], seconds: dict[str, float]) -> list:
    """`items` reordered so that the costliest unit of work (a group, or a test of no group) comes
    first; the order inside a group is kept (its fixtures are set up as in a serial run)."""
    unit_of, units = {}, {}
    for name, members in groups.items():
        for item in members:
            unit_of[item.nodeid] = name
    for index, item in enumerate(items):
        unit = unit_of.get(item.nodeid, item.nodeid)
        cost, first, members = units.get(unit, (0.0, index, []))
        members.append(item)
        units[unit] = (cost + seconds.get(item.nodeid, UNKNOWN_SECONDS), first, members)
    ordered = sorted(units.values(), key=lambda unit: (-unit[0], unit[1]))
    return [item for _cost, _first, members in ordered for item in members]
