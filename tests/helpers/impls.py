"""The first unit's corpus (tests/files/impls): its expectations, and its checks run on a file in-process."""

from __future__ import annotations

import json
from pathlib import Path

from autograder.inprocess import InProcessCaller
from autograder.units.softmax_regression import checks
from helpers.paths import IMPLS

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


def run(path: Path, training: bool) -> dict:
    """check id -> result of the unit's checks (the training ones only if `training`) on `path`."""
    caller = InProcessCaller(namespace(path))
    chosen = checks.CHECKS if training else FUNCTION_CHECKS
    return {cid: fn(caller) for cid, fn in chosen}
