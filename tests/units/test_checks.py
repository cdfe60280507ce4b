"""Every check proven by the corpus in tests/files/impls: broken code fails exactly the expected
checks (with a message naming the problem), differently written correct code earns full marks,
and the worker path agrees with the in-process path."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.english import english_words
from helpers.impls import BROKEN, CORRECT, EXPECTED, TRAINING, namespace, run
from helpers.paths import IMPLS, ROOT, TESTS

from autograder import config
from autograder.checks.outcome import CheckResult
from autograder.inprocess import InProcessCaller
from autograder.submissions.notebook import definitions, forbidden_uses
from autograder.units.softmax_regression import checks
from autograder.units.softmax_regression import unit as softmax_unit


def defines(path: Path, name: str) -> bool:
    tree = ast.parse(path.read_text())
    return any(isinstance(n, ast.FunctionDef) and n.name == name for n in tree.body)


ISOLATED = """
import json, sys
from pathlib import Path
from helpers.impls import run
res = run(Path(sys.argv[1]), training=sys.argv[2] == "1")
print(json.dumps({cid: [r.score, r.max_score, r.status, r.message] for cid, r in res.items()}))
"""


def run_isolated(path: Path, training: bool) -> dict:
    """run() in a fresh interpreter, for corpus files that change torch itself (reload it); tests/
    is on its PYTHONPATH, as on pytest's, for `helpers`."""
    pythonpath = os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")]))
    proc = subprocess.run(
        [sys.executable, "-c", ISOLATED, str(path), str(int(training))],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": pythonpath}, capture_output=True, text=True,
        timeout=600,
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
            assert r.score == r.max_score == softmax_unit.POINTS[cid], f"{label} {cid}: {r}"


def test_corpus_is_complete():
    assert len(BROKEN) >= 25 and set(BROKEN) == set(EXPECTED)
    for group in ("softmax", "ce", "acc", "train"):
        assert len([f for f in CORRECT if f.startswith(group + "_")]) >= 6, group
    for sub, names in (("broken", BROKEN), ("correct", CORRECT)):
        for name in names:
            assert ast.get_docstring(ast.parse((IMPLS / sub / name).read_text())), name
    every = set(softmax_unit.POINTS)
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


# -- the checks' messages in Chinese (#13) ---------------------------------------------------
def canned_runs():
    """Training runs (as a caller returns them) that fail each train_ch3 check in a different way."""
    import torch

    bpe, epochs = 235, 2
    params = [torch.full((784, 10), 0.01), torch.full((10,), 0.1)]
    keys = {*config.TRAJECTORY_STEPS, *(bpe * (e + 1) for e in range(epochs))}
    good = {"ok": True, "steps": epochs * bpe, "batches_per_epoch": bpe, "epochs": epochs,
            "zero_grads": epochs * bpe, "loss_calls": epochs * bpe, "test_passes": epochs,
            "test_batches": epochs * 20, "test_batches_per_epoch": 20, "test_accuracy": 0.83,
            "snapshots": {str(k): params for k in keys}, "curve": []}  # fmt: skip
    off = [p * 2 for p in params]
    return params, keys, {
        "steps": {**good, "steps": 0},
        "zero_grad": {**good, "zero_grads": 1},
        "loss": {**good, "loss_calls": 0},
        "test_set": {**good, "test_passes": 1, "test_batches": 20},
        "trajectory": {**good, "snapshots": {str(k): off for k in keys}},
        "unlearned": {**good, "test_accuracy": 0.3},
        "missing": {"ok": False, "status": "missing", "error": "no function named train_ch3 was defined"},
        "assert": {"ok": False, "assert_stopped": "AssertionError: 0.7498", "epochs_done": 1, "epochs": epochs},
    }  # fmt: skip


def test_training_check_messages_in_chinese(monkeypatch):
    """Every failure path of the train_ch3 checks speaks Chinese (canned runs; the training itself is
    tested above)."""
    from autograder import i18n
    from autograder.units.softmax_regression import references
    from autograder.units.softmax_regression.caller import Caller

    params, keys, runs = canned_runs()
    monkeypatch.setattr(
        references, "sgd_run", lambda mode: {"snapshots": dict.fromkeys(keys, params)}
    )
    training = [(cid, fn) for cid, fn in checks.CHECKS if cid in TRAINING]
    for variant, canned in runs.items():
        monkeypatch.setattr(Caller, "train", lambda self, mode, canned=canned: dict(canned))
        with i18n.use("zh_CN"):
            results = [fn(Caller()) for _cid, fn in training]
        english = [fn(Caller()) for _cid, fn in training]
        failed = [r for r in results if not r.passed]
        assert failed, variant
        for res, en in zip(results, english):
            assert (res.status, res.score) == (en.status, en.score), variant
            assert english_words(res.message) == [], (variant, res.check_id, res.message)


# -- hints chosen from what was measured (#23 item 3) -----------------------------------------
@pytest.mark.parametrize("name", ["ce_mean.py", "ce_sum.py"])
def test_a_loss_of_the_wrong_shape_is_blamed_on_the_shape_not_on_autograd(name):
    res = run(IMPLS / "broken" / name, training=False)["cross_entropy.model_gradient"]
    assert not res.passed
    assert "cross_entropy returned shape () for 5 examples" in res.message, res.message
    assert "cut off from autograd" not in res.message
    cut = run(IMPLS / "broken" / "ce_detach.py", training=False)["cross_entropy.model_gradient"]
    assert "cut off from autograd" in cut.message  # a detached loss still is


class CannedTraining(InProcessCaller):
    """Function checks on real code, training runs canned (canned_runs), to test hints fast."""

    def __init__(self, ns, runs):
        super().__init__(ns)
        self.canned = runs

    def train(self, mode):
        return dict(self.canned[mode])


def end_to_end_hint(monkeypatch, corpus_file, grader_model="good", only_end_to_end=False):
    """The hint line of train_ch3.end_to_end when its run leaves d2l's trajectory, as loop.run
    (the grader's loop) settles it, with `corpus_file`'s functions and a canned grader_model run."""
    from autograder.checks import loop
    from autograder.units.softmax_regression import references

    params, keys, runs = canned_runs()
    good = {**runs["trajectory"], "snapshots": {str(k): params for k in keys}}
    runs["good"] = good
    monkeypatch.setattr(
        references, "sgd_run", lambda mode: {"snapshots": dict.fromkeys(keys, params)}
    )
    caller = CannedTraining(namespace(IMPLS / corpus_file),
                            {"end_to_end": runs["trajectory"], "grader_model": runs[grader_model]})  # fmt: skip
    chosen = [p for p in checks.CHECKS if not only_end_to_end or p[0] == "train_ch3.end_to_end"]
    results = {r.check_id: r for r in loop.run(chosen, caller, needs=checks.REGISTRY.needs)}
    e2e = results["train_ch3.end_to_end"]
    assert not e2e.passed and "after epoch 1" in e2e.message
    return next(ln for ln in e2e.message.splitlines() if ln.startswith("Hint: "))


def test_end_to_end_names_the_function_whose_own_checks_failed(monkeypatch):
    hint = end_to_end_hint(monkeypatch, "broken/softmax_wrong_axis.py")
    assert hint.startswith("Hint: softmax failed its own checks (softmax.values, "), hint
    assert "cross_entropy" not in hint  # cross_entropy passed all its checks: not blamed
    hint = end_to_end_hint(monkeypatch, "broken/ce_wrong_sign.py", grader_model="zero_grad")
    assert hint.startswith("Hint: cross_entropy, train_ch3 failed their own checks ("), hint
    assert "train_ch3.updates" in hint and "softmax" not in hint
    hint = end_to_end_hint(monkeypatch, "broken/acc_no_argmax.py")  # accuracy moves no parameter
    assert hint.startswith("Hint: softmax, cross_entropy, train_ch3 passed their own checks"), hint


def test_end_to_end_says_when_every_function_passed_its_own_checks(monkeypatch):
    hint = end_to_end_hint(monkeypatch, "base.py")
    assert hint.startswith(
        "Hint: softmax, cross_entropy, accuracy, train_ch3 passed their own checks"
    ), hint
    assert "updater(X.shape[0])" in hint
    # the other checks not run: nothing measured to blame, the hint stays general
    hint = end_to_end_hint(monkeypatch, "base.py", only_end_to_end=True)
    assert hint == "Hint: check cross_entropy (per-example losses) and the training loop"


@pytest.mark.slow
@pytest.mark.parametrize(
    "corpus_file, blamed",
    [("broken/softmax_wrong_axis.py", "Hint: softmax failed its own checks (softmax.values"),
     ("broken/train_d2l_branch_mean.py",
      "Hint: softmax, cross_entropy, accuracy, train_ch3 passed their own checks")],
)  # fmt: skip
def test_end_to_end_hint_of_real_training_runs(corpus_file, blamed):
    """The two mutants trained for real through the grader's loop (in this process)."""
    from autograder.checks import loop

    caller = InProcessCaller(namespace(IMPLS / corpus_file))
    results = list(loop.run(checks.CHECKS, caller, needs=checks.REGISTRY.needs))
    e2e = next(r for r in results if r.check_id == "train_ch3.end_to_end")
    assert not e2e.passed and blamed in e2e.message, e2e.message
    assert [r.check_id for r in results] == [cid for cid, _ in checks.CHECKS]  # grading order


@pytest.mark.slow
@pytest.mark.parametrize("corpus_file", ["broken/softmax_wrong_axis.py",
                                         "broken/train_d2l_branch_mean.py"])  # fmt: skip
def test_a_run_off_d2ls_path_is_judged_after_its_first_epoch_as_after_its_last(
    corpus_file, monkeypatch
):
    """config.STOP_EARLY: a run whose first epoch leaves d2l's SGD run stops there (in the
    student's process: the self-check's path; the workers' is tests/sandbox/test_runner.py) and
    gets the same score, status and message as the same run trained to its last epoch."""
    from autograder import config

    def judged(stop_early):
        monkeypatch.setattr(config, "STOP_EARLY", stop_early)
        caller = InProcessCaller(namespace(IMPLS / corpus_file))
        res = checks.train_ch3_end_to_end(caller)
        return res, caller.train("end_to_end")

    (early, run), (whole, whole_run) = judged(True), judged(False)
    assert run["stopped_after"] == 1 and run["steps"] == run["batches_per_epoch"]
    assert "stopped_after" not in whole_run and whole_run["steps"] == 10 * run["batches_per_epoch"]
    assert not early.passed and "after epoch 1" in early.message
    assert (early.score, early.status, early.message) == (whole.score, whole.status, whole.message)
