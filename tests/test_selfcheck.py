"""The student self-check (autograder/selfcheck.py, `python -m autograder check`).

It runs in-process on the notebook's definitions, shows full messages only for PUBLIC checks,
and never reads the quiz's answer key.
"""

from __future__ import annotations

import builtins
import io
import json
import os
import pathlib
import subprocess
import sys
import time

import pytest

from autograder import selfcheck
from autograder.units.softmax_regression import checks, quiz

STUDENT = "softmax_regression/softmax_regression.ipynb"


def nb(examples, student):
    return examples / student / STUDENT


def run(path, **kw):
    out = io.StringIO()
    res, quiz_res = selfcheck.check_notebook(path, stream=out, **kw)
    return res, quiz_res, out.getvalue()


def test_public_checks_exist():
    ids = {cid for cid, _ in checks.CHECKS}
    assert selfcheck.PUBLIC <= ids
    assert selfcheck.TRAINING == {c for c in ids if c.startswith("train_ch3.")}


def test_correct_notebook_passes_quickly(examples):
    start = time.monotonic()
    res, quiz_res, text = run(nb(examples, "alice_full"))
    assert time.monotonic() - start < 60
    assert res and all(r.passed for r in res), text
    assert not any(r.check_id.startswith("train_ch3") for r in res)  # skipped by default
    assert "--train" in text and all(q.passed for q in quiz_res)


def test_hidden_inputs_are_not_shown(examples):
    res, _, text = run(nb(examples, "dave_wrong_axis"))
    by_id = {r.check_id: r for r in res}
    values = by_id["softmax.values"]
    assert values.status == "failed" and values.score == 0
    assert values.message.startswith("Hint:") and "Input:" not in values.message
    assert "Expected:" not in values.message and "Got:" not in values.message
    assert "normalised each column" in by_id["softmax.stability"].message
    # the grader's message for the same check names the hidden input; the self-check must not
    graded = json.loads(
        (
            pathlib.Path(__file__).parent
            / "files"
            / "feedback"
            / "results"
            / "dave_wrong_axis"
            / "results.json"
        ).read_text()
    )
    hidden = [c for c in graded["extra_data"]["checks"] if c["check_id"] == "softmax.values"][0][
        "message"
    ]
    hidden_input = hidden.splitlines()[0].split("[[")[1].split(",")[0]
    assert hidden_input in hidden and hidden_input not in text
    for line in text.splitlines():
        assert not line.strip().startswith(("Input:", "Expected:", "Got:"))
    for secret in ("run_checks(", "BEGIN HIDDEN TESTS"):
        assert secret not in text


def test_public_check_messages_are_complete(examples, tmp_path):
    # a softmax that returns one probability per row fails the public shape check with full detail
    src = nb(examples, "alice_full").read_text()
    data = json.loads(src)
    for cell in data["cells"]:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "softmax":
            cell["source"] = (
                "def softmax(X):\n    X_exp = torch.exp(X - X.max())\n    return X_exp.sum(1)\n"
            )
    path = tmp_path / "softmax_regression.ipynb"
    path.write_text(json.dumps(data))
    res, _, text = run(path)
    shape = [r for r in res if r.check_id == "softmax.shape"][0]
    assert shape.status == "failed"
    assert "Input: X of shape (2, 5)" in shape.message and "Expected: shape (2, 5)" in shape.message


def test_never_reads_the_answer_key(examples, monkeypatch):
    key = quiz.KEY_FILE.resolve()
    attempts = []

    def guard(opener):
        def guarded(file, *args, **kwargs):
            if isinstance(file, (str, bytes, os.PathLike)) and "answer_key" in os.fsdecode(file):
                attempts.append(file)
                raise PermissionError(f"{key} is unreadable in this test")
            return opener(file, *args, **kwargs)

        return guarded

    monkeypatch.setattr(builtins, "open", guard(builtins.open))
    monkeypatch.setattr(io, "open", guard(io.open))
    monkeypatch.setattr(os, "open", guard(os.open))
    with pytest.raises(PermissionError):  # the guard works: pathlib goes through io.open
        quiz.KEY_FILE.read_text()
    attempts.clear()
    quiz._key.cache_clear()
    monkeypatch.setattr(quiz, "_key", lambda: pytest.fail("the self-check called quiz._key()"))
    res, quiz_res, text = run(nb(examples, "dave_wrong_axis"))
    assert not attempts
    assert len(quiz_res) == len(quiz.QUESTIONS)
    # dave answered q1 and q5 wrongly: the self-check only judges the format
    assert {q.check_id for q in quiz_res if not q.passed} == {"quiz.q7"}
    assert "wrong answer" not in text and "2.302585" not in text and "7850" not in text


def test_in_notebook_call(examples):
    ns, missing, warnings = selfcheck.load_notebook(nb(examples, "bob_naive_softmax"))
    assert not missing
    out = io.StringIO()
    res = selfcheck.check(ns, stream=out)
    failed = {r.check_id for r in res if not r.passed}
    assert failed == {"softmax.stability"}, out.getvalue()
    assert "Hint:" in out.getvalue() and "exp overflowed" in out.getvalue()


def test_forbidden_builtin_found_in_notebook_namespace(examples):
    ns, _, _ = selfcheck.load_notebook(nb(examples, "frank_builtins"))
    res = selfcheck.run_public(ns, forbidden=None)
    assert {r.status for r in res if r.function == "softmax"} == {"forbidden"}


def test_missing_function(examples):
    res, _, _ = run(nb(examples, "carol_blank"))
    assert not any(r.passed for r in res)
    ns = {}
    res = selfcheck.check(ns, stream=io.StringIO(), quiz=False)
    assert {r.status for r in res} == {"missing"}


def test_train_option_runs_training_checks(examples, monkeypatch):
    # Training itself (2 + 10 epochs in this process) is the grader's code, tested elsewhere
    # (tests/units/test_checks.py); here a canned run, and a canned SGD run of the grader's to compare
    # it with, check that train=True includes the training checks.
    import torch

    from autograder.units.softmax_regression import references
    from autograder.units.softmax_regression.caller import Caller

    bpe, epochs = 235, 2
    params = [torch.full((784, 10), 0.01), torch.full((10,), 0.1)]
    steps = (1, 2, 3, bpe, 2 * bpe)
    canned = {"ok": True, "steps": epochs * bpe, "batches_per_epoch": bpe, "epochs": epochs,
              "zero_grads": epochs * bpe, "loss_calls": epochs * bpe, "test_passes": epochs,
              "test_batches": epochs * 20, "test_batches_per_epoch": 20, "test_accuracy": 0.83,
              "snapshots": {str(k): params for k in steps},
              "curve": [[1.0, 0.8, 0.75, 0.78]]}  # fmt: skip
    calls = []
    monkeypatch.setattr(Caller, "train", lambda self, mode: calls.append(mode) or dict(canned))
    monkeypatch.setattr(
        references, "sgd_run", lambda mode: {"snapshots": dict.fromkeys(steps, params)}
    )
    res, _, text = run(nb(examples, "erin_alternative"), train=True)
    assert set(calls) == {"grader_model", "end_to_end"}
    assert {r.check_id for r in res} >= selfcheck.TRAINING
    assert all(r.passed for r in res), text
    assert "skipped" not in text


def test_cli_exit_codes(examples, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "autograder", "check", str(nb(examples, "dave_wrong_axis"))],
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 1 and "FAILED    softmax.values" in proc.stdout
    missing = subprocess.run([sys.executable, "-m", "autograder", "check", str(tmp_path / "x.ipynb")],
                             capture_output=True, text=True, timeout=120)  # fmt: skip
    assert missing.returncode == 2


def test_quiz_format_uses_the_graders_normaliser():
    """The self-check accepts what the grader reads ("Ｂ", "(c)", "2.3") and still flags the rest."""
    ns = {"q1_answer": "Ｂ", "q2_answer": " (c) ", "q7_answer": "2.3", "q10_answer": "2,3"}
    res = {r.check_id: r.status for r in selfcheck.quiz_format(ns)}
    assert res == {"quiz.q1": "passed", "quiz.q2": "passed", "quiz.q7": "passed",
                   "quiz.q10": "malformed"}  # fmt: skip
