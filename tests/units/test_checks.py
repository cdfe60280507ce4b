"""Every check proven by the corpus in tests/files/impls: broken code fails exactly the expected
checks (with a message naming the problem), differently written correct code earns full marks,
and the worker path agrees with the in-process path."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from autograder import config
from autograder.checks.outcome import CheckResult
from autograder.inprocess import InProcessCaller
from autograder.submissions.notebook import definitions, forbidden_uses
from autograder.units.softmax_regression import checks

IMPLS = Path(__file__).parents[1] / "files" / "impls"
BASE = (IMPLS / "base.py").read_text()
EXPECTED = {
    k: v for k, v in json.loads((IMPLS / "EXPECTED.json").read_text()).items() if k != "_doc"
}
BROKEN = sorted(p.name for p in (IMPLS / "broken").glob("*.py"))
CORRECT = sorted(p.name for p in (IMPLS / "correct").glob("*.py"))
TRAINING = [cid for cid, _ in checks.CHECKS if cid.startswith("train_ch3.")]
FUNCTION_CHECKS = [(cid, fn) for cid, fn in checks.CHECKS if cid not in TRAINING]


def namespace(path: Path) -> dict:
    """base.py's correct helpers and functions, then the corpus file's definitions over them."""
    ns: dict = {}
    exec(compile(BASE, str(IMPLS / "base.py"), "exec"), ns)
    exec(compile(path.read_text(), str(path), "exec"), ns)
    return ns


def defines(path: Path, name: str) -> bool:
    tree = ast.parse(path.read_text())
    return any(isinstance(n, ast.FunctionDef) and n.name == name for n in tree.body)


def run(path: Path, training: bool) -> dict:
    caller = InProcessCaller(namespace(path))
    chosen = checks.CHECKS if training else FUNCTION_CHECKS
    return {cid: fn(caller) for cid, fn in chosen}


ISOLATED = """
import json, sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
import test_checks
res = test_checks.run(Path(sys.argv[2]), training=sys.argv[3] == "1")
print(json.dumps({cid: [r.score, r.max_score, r.status, r.message] for cid, r in res.items()}))
"""


def run_isolated(path: Path, training: bool) -> dict:
    """run() in a fresh interpreter, for corpus files that change torch itself (reload it)."""
    proc = subprocess.run(
        [sys.executable, "-c", ISOLATED, str(Path(__file__).parent), str(path), str(int(training))],
        cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    return {cid: CheckResult(cid, *fields) for cid, fields in got.items()}


def assert_outcome(results: dict, fails: dict, label: str, status: str | None = None):
    got = {cid for cid, r in results.items() if not r.passed}
    assert got == set(fails), f"{label}: failed {sorted(got)}, expected {sorted(fails)}"
    for cid, r in results.items():
        if cid in fails:
            assert r.score < r.max_score, f"{label} {cid}: full points for a failure"
            assert fails[cid] in r.message, f"{label} {cid}: {fails[cid]!r} not in {r.message!r}"
            assert status is None or r.status == status, f"{label} {cid}: status {r.status}"
        else:
            assert r.score == r.max_score == config.POINTS[cid], f"{label} {cid}: {r}"


def test_corpus_is_complete():
    assert len(BROKEN) >= 25 and set(BROKEN) == set(EXPECTED)
    for group in ("softmax", "ce", "acc", "train"):
        assert len([f for f in CORRECT if f.startswith(group + "_")]) >= 6, group
    for sub, names in (("broken", BROKEN), ("correct", CORRECT)):
        for name in names:
            assert ast.get_docstring(ast.parse((IMPLS / sub / name).read_text())), name
    every = set(config.POINTS)
    for name, spec in EXPECTED.items():
        assert set(spec["fails"]) <= every, name
        unnamed = [cid for cid, words in spec["fails"].items() if not words.strip()]
        assert not unnamed, f"{name}: say which words of the message name the problem for {unnamed}"
    proven = set().union(*(spec["fails"] for spec in EXPECTED.values()))
    assert proven == every, f"checks no broken implementation fails: {sorted(every - proven)}"


@pytest.mark.parametrize("name", [n for n in BROKEN if not n.startswith("train_")])
def test_broken_function_fails_exactly_the_expected_checks(name):
    fails = EXPECTED[name]["fails"]
    assert not any(c in TRAINING for c in fails)
    status = EXPECTED[name].get("status")
    runner = run_isolated if EXPECTED[name].get("isolated") else run
    assert_outcome(runner(IMPLS / "broken" / name, training=False), fails, name, status)


@pytest.mark.parametrize("name", [n for n in CORRECT if not n.startswith("train_")])
def test_correct_function_earns_full_marks(name):
    assert_outcome(run(IMPLS / "correct" / name, training=False), {}, name)


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in BROKEN if n.startswith("train_")])
def test_broken_training_fails_exactly_the_expected_checks(name):
    path = IMPLS / "broken" / name
    assert defines(path, "train_ch3")
    assert_outcome(
        run(path, training=True), EXPECTED[name]["fails"], name, EXPECTED[name].get("status")
    )


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in CORRECT if n.startswith("train_")])
def test_correct_training_earns_full_marks(name):
    assert_outcome(run(IMPLS / "correct" / name, training=True), {}, name)


def test_torch_softmax_is_found_statically():
    src = (IMPLS / "broken" / "softmax_torch_builtin.py").read_text()
    nodes, err = definitions(src)
    assert err is None
    assert "softmax" in forbidden_uses(nodes)
    for name in CORRECT:
        nodes, _ = definitions((IMPLS / "correct" / name).read_text())
        assert not forbidden_uses(nodes), name


def test_only_the_dispatcher_record_finds_a_computed_operator_name():
    """softmax_ops_string names no built-in: the source scan passes it, the checks reject it."""
    nodes, err = definitions((IMPLS / "broken" / "softmax_ops_string.py").read_text())
    assert err is None and not forbidden_uses(nodes)
    assert EXPECTED["softmax_ops_string.py"]["status"] == "forbidden"
    softmax_checks = {cid for cid, _ in checks.CHECKS if cid.startswith("softmax.")}
    assert set(EXPECTED["softmax_ops_string.py"]["fails"]) == softmax_checks
