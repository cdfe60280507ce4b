"""The suite's pytest-xdist plugin (tests/helpers/xdist_groups.py): shared fixtures keep their tests on
one worker and are computed once; work is handed out longest first; a serial run is untouched."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from helpers import xdist_groups
from helpers.paths import TESTS

pytest_plugins = ["pytester"]

SUITE = """
import os, pytest
from pathlib import Path

LOG = Path(os.environ["GROUPS_LOG"])

def record(what):
    with LOG.open("a") as fh:
        fh.write(f"{what} {os.environ.get('PYTEST_XDIST_WORKER', 'serial')}\\n")

@pytest.fixture(scope="module")
def shared():
    record("setup-shared")

@pytest.fixture(scope="module", params=["root", "nobody"])
def user(request):
    record(f"setup-user-{request.param}")
    return request.param

@pytest.mark.parametrize("n", range(6))
def test_shares(shared, n):
    record(f"shares-{n}")

def test_by_user(user):
    record(f"by-user-{user}")

@pytest.mark.parametrize("n", range(6))
def test_alone(n):
    record(f"alone-{n}")
"""


def _run(pytester, monkeypatch, *args) -> list[tuple[str, str]]:
    log = pytester.path / "log.txt"
    pytester.makeconftest('pytest_plugins = ["helpers.xdist_groups"]\n')
    pytester.makepyfile(test_suite=SUITE)
    monkeypatch.setenv("GROUPS_LOG", str(log))
    for name in ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID"):
        monkeypatch.delenv(name, raising=False)  # when this suite itself runs under xdist
    monkeypatch.setenv("PYTHONPATH", str(TESTS))
    # without the heavy plugins the inner runs do not need (nbval imports Jupyter: seconds per process)
    quiet = ("-p", "no:cacheprovider", "-p", "no:nbval", "-p", "no:softmax_autograder")
    result = pytester.runpytest_subprocess(*quiet, *args)
    result.assert_outcomes(passed=14)
    return [tuple(line.split()) for line in log.read_text().splitlines()]


def test_tests_sharing_a_fixture_run_on_one_worker_and_set_it_up_once(pytester, monkeypatch):
    events = _run(pytester, monkeypatch, "-n", "2", "--dist", "loadgroup")
    workers = {worker for what, worker in events if what.startswith(("shares-", "setup-shared"))}
    assert len(workers) == 1, events
    assert [what for what, _ in events].count("setup-shared") == 1, events
    for user in ("root", "nobody"):  # one instance per parameter, each set up once
        assert [what for what, _ in events].count(f"setup-user-{user}") == 1, events
    assert {worker for _, worker in events} == {"gw0", "gw1"}, "both workers got work"


def test_a_serial_run_keeps_pytests_order(pytester, monkeypatch):
    events = _run(pytester, monkeypatch)
    ran = [what for what, _ in events if not what.startswith("setup-")]
    assert ran[:6] == [f"shares-{n}" for n in range(6)]
    assert ran[-6:] == [f"alone-{n}" for n in range(6)]
    assert {worker for _, worker in events} == {"serial"}


def _item(nodeid):
    return SimpleNamespace(nodeid=nodeid)


def test_the_costliest_group_comes_first_and_a_group_keeps_its_order():
    items = [_item(n) for n in ("a1", "a2", "b", "c1", "c2", "d")]
    group_of = {"a1": "A", "a2": "A", "b": "b", "c1": "C", "c2": "C", "d": "d"}
    seconds = {"a1": 1.0, "a2": 1.0, "b": 5.0, "c1": 0.5, "c2": 9.0}
    ordered = xdist_groups.longest_first(items, group_of, seconds)
    assert [i.nodeid for i in ordered] == ["c1", "c2", "b", "a1", "a2", "d"]


def test_the_durations_file_is_read_and_a_broken_one_orders_nothing(tmp_path, monkeypatch):
    assert xdist_groups.durations(), "tests/durations.json is missing or empty"
    broken = tmp_path / "durations.json"
    for text in ("{", '{"seconds": ["x"]}', '{"generated_from": "x"}', "[]"):
        broken.write_text(text)
        monkeypatch.setattr(xdist_groups, "DURATIONS", broken)
        assert xdist_groups.durations() == {}
    broken.write_text(json.dumps({"seconds": {"t.py::a": 2}}))
    assert xdist_groups.durations() == {"t.py::a": 2.0}


@pytest.mark.parametrize("bad", ["not json", '{"seconds": {"a": "slow"}}'])
def test_a_durations_file_that_is_not_seconds_is_ignored(tmp_path, monkeypatch, bad):
    path = tmp_path / "durations.json"
    path.write_text(bad)
    monkeypatch.setattr(xdist_groups, "DURATIONS", path)
    assert xdist_groups.durations() == {}
