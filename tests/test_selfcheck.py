"""The student self-check (autograder/selfcheck.py, `python -m autograder check`).

It runs in-process on the notebook's definitions, shows full messages only for PUBLIC checks,
and never reads the quiz's answer key.
"""

from __future__ import annotations

import builtins
import io
import json
import os
import subprocess
import sys
import time

import pytest
from helpers.loading import load_module
from helpers.paths import FILES, ROOT

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
    ids = {cid for cid, _ in checks.REGISTRY.selfcheck_pairs}
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
        (FILES / "feedback" / "results" / "dave_wrong_axis" / "results.json").read_text()
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


# -- the edition's language (#13) ------------------------------------------------------------
ZH_STUDENT = "刘洋/softmax_regression_zh/softmax_regression.ipynb"


def test_a_chinese_notebook_is_self_checked_in_chinese(examples, monkeypatch):
    monkeypatch.delenv("SOFTMAX_LANG", raising=False)
    res, quiz_res, text = run(examples / ZH_STUDENT)
    assert "的自查" in text and "测验答案" in text and "这不是你的成绩" in text
    stability = next(r for r in res if r.check_id == "softmax.stability")
    assert not stability.passed and stability.message.startswith("提示：结果中有 NaN 或 inf")
    assert "（隐藏输入：不显示输入和期望值）" in stability.message  # redacted in Chinese too
    assert "Hint" not in text and "Self-check" not in text
    _, _, english = run(examples / ZH_STUDENT, lang="en")
    assert "Hint: the result contains NaN or inf" in english


def test_cli_lang_overrides_the_edition(examples, monkeypatch):
    monkeypatch.delenv("SOFTMAX_LANG", raising=False)
    cmd = [sys.executable, "-m", "autograder", "check", str(examples / ZH_STUDENT)]
    zh = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    en = subprocess.run([*cmd, "--lang", "en"], capture_output=True, text=True, timeout=300)
    assert "提示：" in zh.stdout and "Hint:" not in zh.stdout
    assert "Hint: " in en.stdout and "提示" not in en.stdout
    bad = subprocess.run([*cmd, "--lang", "fr"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "unknown language 'fr'" in bad.stderr


def released_selfcheck(root, edition, monkeypatch):
    """The released softmax_selfcheck.py of an edition, imported from its folder."""
    path = root / "release" / edition / "softmax_selfcheck.py"
    return load_module(path, f"selfcheck_{edition}", monkeypatch)


@pytest.mark.parametrize(
    "edition, words", [("softmax_regression", "Hint: avoid in-place"), ("softmax_regression_zh", "提示：不要对输入做原地操作")]
)  # fmt: skip
def test_the_released_selfcheck_speaks_its_editions_language(root, monkeypatch, edition, words):
    monkeypatch.delenv("SOFTMAX_LANG", raising=False)
    module = released_selfcheck(root, edition, monkeypatch)
    ns = {}
    exec((root / "tests" / "files" / "impls" / "base.py").read_text(), ns)  # noqa: S102
    exec("def softmax(X):\n    X.exp_()\n    return X / X.sum(1, keepdim=True)\n", ns)  # noqa: S102
    out = io.StringIO()
    module.check(ns, stream=out)
    assert words in out.getvalue(), out.getvalue()
    other = io.StringIO()
    module.check(ns, stream=other, lang="en" if edition.endswith("_zh") else "zh_CN")
    assert words not in other.getvalue()


def test_the_selfcheck_generator_refuses_an_untranslated_message(monkeypatch):
    """make_selfcheck embeds the translations: a message the catalogue lacks stops it."""
    import gettext

    from autograder import i18n

    make_selfcheck = load_module(ROOT / "scripts" / "make_selfcheck.py", "make_selfcheck")

    monkeypatch.setattr(i18n, "translations", lambda lang: gettext.NullTranslations())
    with pytest.raises(SystemExit, match="no zh_CN translation"):
        make_selfcheck.zh_cn('_("Hint: {hint}")')


@pytest.mark.parametrize("edition", ["softmax_regression", "softmax_regression_zh"])
def test_the_released_selfcheck_catches_the_naive_softmax(root, monkeypatch, edition):
    """d2l's overflow exercise is public: a softmax without the row max fails the shipped self-check
    (its practice check, which earns nothing), while the correct one passes every public check."""
    monkeypatch.delenv("SOFTMAX_LANG", raising=False)
    module = released_selfcheck(root, edition, monkeypatch)
    impls = root / "tests" / "files" / "impls"
    ns = {}
    exec((impls / "base.py").read_text(), ns)  # noqa: S102
    good = io.StringIO()
    module.check(dict(ns), stream=good, lang="en")
    n = len(module.CHECKS)
    assert f"{n}/{n} public checks passed" in good.getvalue(), good.getvalue()
    exec((impls / "broken" / "softmax_naive.py").read_text(), ns)  # noqa: S102
    out = io.StringIO()
    module.check(ns, stream=out, lang="en")
    text = out.getvalue()
    assert f"{n - 1}/{n} public checks passed" in text, text
    assert "Subtract each row's maximum" in text and "1020" in text
    failed = [ln.split()[1] for ln in text.splitlines() if ln.startswith("FAILED")]
    assert failed == ["softmax.overflow"]
    # it earns nothing, and the grade's checks and points are unchanged
    assert module.config.POINTS["softmax.overflow"] == 0
    assert "softmax.overflow" not in selfcheck.REGISTRY.by_id


def test_the_practice_check_earns_nothing_in_the_selfcheck(examples):
    ns, _, _ = selfcheck.load_notebook(nb(examples, "bob_naive_softmax"))
    res = {r.check_id: r for r in selfcheck.run_public(ns, practice=True)}
    overflow = res["softmax.overflow"]
    assert not overflow.passed and overflow.max_score == 0
    assert "Input: large logits X = [[1000" in overflow.message  # public: shown in full


def test_a_long_hint_is_cut_at_a_word():
    from autograder.checks.outcome import CheckResult

    hint = "Hint: " + " ".join(["subtract each row's maximum"] * 30)
    res = selfcheck.redact(CheckResult("softmax.values", 0.0, 1.0, "failed", hint))
    first = res.message.splitlines()[0]
    assert len(first) <= selfcheck.HINT_CHARS and first.endswith("…")
    kept = first[: -len("…")]
    assert hint.startswith(kept) and hint[len(kept)] == " "  # cut before a space, not mid-word
    assert kept.split()[-1] in hint.split()
