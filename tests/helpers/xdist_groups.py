"""A pytest-xdist plugin: tests that share an expensive fixture run on one worker, longest first.

``bash scripts/test.sh`` runs ``-n auto --dist loadgroup``; tests/conftest.py loads this module as a
plugin. xdist's own loadgroup reads ``xdist_group`` marks through ``item._nodeid``, which pytest 9
no longer uses, so this plugin does the grouping itself:

- each worker, at collection, puts into one group the tests linked by a module- or session-scoped
  fixture (one instance per parameter), orders the groups longest first by tests/durations.json,
  and writes nodeid -> group to a file the controller named (``pytest_configure_node``);
- the controller's scheduler (``pytest_xdist_make_scheduler``) hands out whole groups in that order.

A serial run (no ``-n``) is left exactly as pytest orders it.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

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

GROUPS_FILE = "softmax_groups_file"
"""The workerinput key naming the file where a worker writes nodeid -> group for the controller."""

groups_path = pytest.StashKey[Path]()


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


def groups_of(items) -> dict[str, str]:
    """nodeid -> group for each item: items linked through any chain of shared fixtures share a
    group; an item that shares none is a group of its own (its nodeid)."""
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
    return {
        item.nodeid: find(keys_of[item.nodeid][0]) if keys_of[item.nodeid] else item.nodeid
        for item in items
    }


def durations() -> dict[str, float]:
    """nodeid -> seconds, from DURATIONS ({} when missing or unreadable)."""
    try:
        found = json.loads(DURATIONS.read_text(encoding="utf-8"))["seconds"]
        return {str(k): float(v) for k, v in found.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def longest_first(items, group_of: dict[str, str], seconds: dict[str, float]) -> list:
    """`items` reordered so that the costliest group comes first; the order inside a group is kept
    (its fixtures are set up as in a serial run)."""
    groups: dict[str, tuple[float, int, list]] = {}
    for index, item in enumerate(items):
        cost, first, members = groups.get(group_of[item.nodeid], (0.0, index, []))
        members.append(item)
        cost += seconds.get(item.nodeid, UNKNOWN_SECONDS)
        groups[group_of[item.nodeid]] = (cost, first, members)
    ordered = sorted(groups.values(), key=lambda group: (-group[0], group[1]))
    return [item for _cost, _first, members in ordered for item in members]


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    """Controller: tell each worker where to write the groups it finds."""
    config = node.config
    if groups_path not in config.stash:
        folder = Path(tempfile.mkdtemp(prefix="softmax-xdist-"))
        config.stash[groups_path] = folder / "groups.json"
        config.add_cleanup(lambda: _remove(folder))
    node.workerinput[GROUPS_FILE] = str(config.stash[groups_path])


def _remove(folder: Path) -> None:
    for path in folder.iterdir():
        path.unlink()
    folder.rmdir()


def pytest_collection_modifyitems(config, items) -> None:
    """Worker: group the items, order them longest first, and write the groups for the controller."""
    path = getattr(config, "workerinput", {}).get(GROUPS_FILE)
    if not path:
        return
    group_of = groups_of(items)
    items[:] = longest_first(items, group_of, durations())
    tmp = f"{path}.{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(group_of, fh)
    os.replace(tmp, path)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """Controller, under ``--dist loadgroup``: hand out whole groups, in the workers' order."""
    if config.getoption("dist") != "loadgroup" or groups_path not in config.stash:
        return None
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):
        """LoadScopeScheduling whose scope is the group the workers wrote."""

        _groups: dict[str, str] | None = None

        def _split_scope(self, nodeid: str) -> str:
            if self._groups is None:
                try:
                    self._groups = json.loads(config.stash[groups_path].read_text("utf-8"))
                except (OSError, ValueError):
                    self._groups = {}
            return self._groups.get(nodeid, nodeid)

    config.option.loadscopereorder = False  # keep the workers' longest-first order
    return GroupScheduling(config, log)
