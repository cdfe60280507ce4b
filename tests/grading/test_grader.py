"""The worker path (autograder/grading/grader.py) agrees with the in-process path on the corpus, detects
built-ins statically and at run time, and costs a crashing function only its own checks."""

from __future__ import annotations

import copy
import json

import pytest
from helpers.english import english_words
from helpers.impls import EXPECTED, FUNCTION_CHECKS, run
from helpers.paths import IMPLS

from autograder import config, i18n
from autograder.grading import grader
from autograder.submissions.notebook import nbgrader_meta, read_notebook
from autograder.submissions.submission import find_submissions
from autograder.units.softmax_regression import unit as softmax_unit

SOLUTION_IDS = ("softmax", "cross_entropy", "accuracy", "train_ch3")


def notebook_with(tmp_path, source: str, name="student"):
    """The release notebook with `source` in the softmax solution cell and `pass` in the others."""
    nb = copy.deepcopy(read_notebook(config.RELEASE_DIR / softmax_unit.MAIN_NOTEBOOK))
    for cell in nb["cells"]:
        gid = nbgrader_meta(cell).get("grade_id")
        if gid in SOLUTION_IDS:
            cell["source"] = source if gid == "softmax" else "pass"
    path = tmp_path / name / config.ASSIGNMENT / softmax_unit.MAIN_NOTEBOOK
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(nb))
    return path


def corpus_source(folder, name):
    return (IMPLS / "base.py").read_text() + "\n" + (IMPLS / folder / name).read_text()


@pytest.fixture
def function_checks_only(monkeypatch):
    """Grade without the two training runs (they are covered in tests/units/test_checks.py)."""
    monkeypatch.setattr(grader, "CHECKS", FUNCTION_CHECKS)


@pytest.mark.slow
@pytest.mark.parametrize(
    "folder, name",
    [("broken", "softmax_naive.py"), ("broken", "ce_columns.py"), ("broken", "softmax_in_place.py"),
     ("broken", "acc_fraction.py"), ("broken", "ce_detach.py"), ("correct", "softmax_logsumexp.py")],
)  # fmt: skip
def test_worker_and_in_process_paths_agree(tmp_path, function_checks_only, folder, name):
    in_process = run(IMPLS / folder / name, training=False)
    results, info = grader.grade_function_checks(
        notebook_with(tmp_path, corpus_source(folder, name))
    )
    worker = {r.check_id: r for r in results}
    assert set(worker) == set(in_process)
    for cid, want in in_process.items():
        got = worker[cid]
        assert (got.status, got.score) == (want.status, want.score), (
            f"{name} {cid}: {got} vs {want}"
        )
    if folder == "broken":
        assert set(EXPECTED[name]["fails"]) == {c for c, r in worker.items() if not r.passed}


@pytest.mark.slow
def test_builtin_found_statically_costs_all_softmax_points(tmp_path, function_checks_only):
    results, _ = grader.grade_function_checks(
        notebook_with(tmp_path, corpus_source("broken", "softmax_torch_builtin.py"))
    )
    for r in results:
        if r.check_id.startswith("softmax."):
            assert r.status == "forbidden" and r.score == 0 and "from scratch" in r.message
        elif (
            r.check_id.startswith(("cross_entropy.", "accuracy."))
            and r.check_id != "cross_entropy.model_gradient"
        ):
            assert r.passed, r


@pytest.mark.slow
def test_builtin_hidden_from_the_source_is_traced_at_run_time(tmp_path, function_checks_only):
    # nn.Softmax2d is not a name the source scan knows; a computed getattr would be refused by
    # the static gate before running (tests/submissions/test_reach.py)
    sneaky = "def softmax(X):\n    return torch.nn.Softmax2d()(X[:, :, None, None])[:, :, 0, 0]\n"
    source = (IMPLS / "base.py").read_text() + "\n" + sneaky
    results, _ = grader.grade_function_checks(notebook_with(tmp_path, source))
    softmax = [r for r in results if r.check_id.startswith("softmax.")]
    assert all(r.score == 0 for r in softmax)
    assert any(r.status == "forbidden" and "torch.softmax" in r.message for r in softmax)


@pytest.mark.slow
def test_crash_in_one_function_costs_only_its_checks(tmp_path, function_checks_only):
    crash = "def softmax(X):\n    import os\n    os.abort()\n"  # os._exit: refused by the gate
    source = (IMPLS / "base.py").read_text() + "\n" + crash
    results, info = grader.grade_function_checks(notebook_with(tmp_path, source))
    by = {r.check_id: r for r in results}
    assert "killed by SIGABRT" in by["softmax.shape"].message
    assert all(
        by[c].status == "crashed" and by[c].score == 0 for c in by if c.startswith("softmax.")
    )
    # cross_entropy.model_gradient runs torch's softmax, not the student's: a crash in softmax
    # costs only softmax's checks.
    others = [r for c, r in by.items() if c.startswith(("cross_entropy.", "accuracy."))]
    assert others and all(r.passed for r in others)
    assert info["worker_starts"] == 2  # a fresh worker after the crash, none after the skip


# -- student ids, notebooks found by content (issue #11) ------------------------------------------
def _submitted(tmp_path, student, main_name=softmax_unit.MAIN_NOTEBOOK, extra=()):
    folder = tmp_path / "submitted" / student / config.ASSIGNMENT
    folder.mkdir(parents=True)
    release = config.RELEASE_DIR
    (folder / main_name).write_bytes((release / softmax_unit.MAIN_NOTEBOOK).read_bytes())
    (folder / softmax_unit.QUIZ_NOTEBOOK).write_bytes(
        (release / softmax_unit.QUIZ_NOTEBOOK).read_bytes()
    )
    for name in extra:
        (folder / name).write_bytes((release / softmax_unit.MAIN_NOTEBOOK).read_bytes())
    return folder


def test_any_unicode_name_is_the_student_id(tmp_path):
    for name in ("张三", "李四", "a b", "Zoë"):
        _submitted(tmp_path, name)
    subs = find_submissions(tmp_path / "submitted")
    assert sorted(s.student for s in subs) == sorted(["张三", "李四", "a b", "Zoë"])
    one = find_submissions(tmp_path / "submitted" / "张三")
    assert [s.student for s in one] == ["张三"]
    nb = find_submissions(
        tmp_path / "submitted" / "李四" / config.ASSIGNMENT / softmax_unit.MAIN_NOTEBOOK
    )
    assert [s.student for s in nb] == ["李四"]


def test_a_renamed_main_notebook_is_graded_with_a_warning(tmp_path):
    folder = _submitted(tmp_path, "amy", main_name="softmax_regression (1).ipynb")
    (sub,) = find_submissions(tmp_path / "submitted")
    assert sub.main == folder / "softmax_regression (1).ipynb" and sub.problem is None
    assert "softmax_regression (1).ipynb was graded as softmax_regression.ipynb" in sub.warnings[0]


def test_two_candidate_notebooks_are_a_clear_error_not_a_silent_pick(tmp_path):
    _submitted(
        tmp_path,
        "amy",
        main_name="softmax_regression (1).ipynb",
        extra=("softmax_regression (2).ipynb",),
    )
    (sub,) = find_submissions(tmp_path / "submitted")
    assert "softmax_regression (1).ipynb and softmax_regression (2).ipynb" in sub.problem
    res = grader.grade_submission(sub)  # no worker is started for it
    assert res.status == "malformed" and res.score == 0
    assert all("keep only one of them" in c.message for c in res.checks)


def test_not_implemented_gets_its_own_hint():
    checks_results = [
        grader.CheckResult("softmax.shape", 0.0, 1.0, "error",
                           "Calling softmax raised an error: NotImplementedError"),
        grader.CheckResult("softmax.gradient", 0.0, 2.0, "failed",
                           "Input: ...\nExpected: a differentiable result\nGot: NotImplementedError\n"
                           "Hint: the computation was cut off from autograd: avoid .detach()"),
        grader.CheckResult("cross_entropy.model_gradient", 0.0, 2.0, "failed",
                           "Input: O\nGot: NotImplementedError\nHint: the computation was cut off"),
        grader.CheckResult("softmax.values", 0.0, 2.0, "failed",
                           "Expected: x\nGot: y\nHint: the computation was cut off from autograd"),
    ]  # fmt: skip
    out = [grader.not_implemented_hint(c) for c in checks_results]
    assert out[0].message.endswith(
        "Hint: not implemented yet: softmax raises NotImplementedError; replace "
        "`raise NotImplementedError()` with your code"
    )
    assert "cut off from autograd" not in out[1].message and "not implemented yet" in out[1].message
    # model_gradient composes torch's softmax with the student's cross_entropy: only that is named
    assert "cross_entropy raises NotImplementedError" in out[2].message
    assert "softmax or" not in out[2].message
    assert "cut off from autograd" in out[3].message  # a real autograd problem keeps its hint


@pytest.mark.parametrize(
    "status, message, want",
    [
        ("crashed", "the worker could not start: RuntimeError: Found no NVIDIA driver", "grader_error"),
        ("crashed", "the worker process exited with code 3 while calling softmax", "crashed"),
        ("error", "Calling softmax raised an error: RuntimeError: Found no NVIDIA driver on your system",
         "grader_error"),
        ("failed", "Found no NVIDIA driver", "failed"),
    ],
)  # fmt: skip
def test_grader_side_failures_are_not_the_students(status, message, want):
    res = grader.grader_failure(grader.CheckResult("softmax.shape", 0.0, 1.0, status, message))
    assert res.status == want
    if want == "grader_error":
        assert "not your code" in res.message


# -- the submission's language (#13) ---------------------------------------------------------
def test_not_implemented_hint_and_grader_failures_in_chinese():
    with i18n.use("zh_CN"):
        blank = grader.CheckResult("softmax.values", 0.0, 2.0, "failed",
                                   "输入：X\n期望：x\n实际：NotImplementedError\n提示：每一行的和必须为 1")  # fmt: skip
        out = grader.not_implemented_hint(blank)
        broken = grader.CheckResult("softmax.shape", 0.0, 1.0, "crashed",
                                    "评分工作进程无法启动：RuntimeError: Found no NVIDIA driver")  # fmt: skip
        failed = grader.grader_failure(broken)
    assert out.message.endswith("提示：尚未实现：softmax 抛出了 NotImplementedError；请把 "
                                "`raise NotImplementedError()` 换成你的代码")  # fmt: skip
    assert "每一行的和" not in out.message
    assert failed.status == "grader_error" and "不是你的代码" in failed.message


def zh_notebook(tmp_path, source: str, name="张三"):
    """The Chinese release notebook with `source` in the softmax cell, in the zh assignment folder."""
    zh = "softmax_regression_zh"
    nb = copy.deepcopy(read_notebook(config.release_dir(zh) / softmax_unit.MAIN_NOTEBOOK))
    for cell in nb["cells"]:
        gid = nbgrader_meta(cell).get("grade_id")
        if gid in SOLUTION_IDS:
            cell["source"] = source if gid == "softmax" else "pass"
    path = tmp_path / name / zh / softmax_unit.MAIN_NOTEBOOK
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(nb, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.mark.slow
def test_a_chinese_edition_submission_is_graded_in_chinese(
    tmp_path, function_checks_only, monkeypatch
):
    """Its edition (folder and notebook metadata) decides the language; --lang (the override) wins."""
    monkeypatch.delenv(i18n.OVERRIDE_ENV, raising=False)
    path = zh_notebook(tmp_path, corpus_source("broken", "softmax_naive.py"))
    (sub,) = find_submissions(path.parent)
    res = grader.grade_submission(sub)
    assert res.info["lang"] == "zh_CN"
    stability = next(c for c in res.checks if c.check_id == "softmax.stability")
    assert (
        not stability.passed and "提示：" in stability.message and "exp 上溢" in stability.message
    )
    quiz = next(c for c in res.checks if c.check_id == "quiz.q1")
    assert quiz.status == "missing" and "没有找到" in quiz.message
    failed = [c for c in res.checks if not c.passed and not c.check_id.startswith("quiz.")]
    assert failed and all(english_words(c.message) == [] for c in failed), failed
    with i18n.overriding("en"):
        again = grader.grade_submission(sub)
    assert again.info["lang"] == "en"
    assert [c.score for c in again.checks] == [c.score for c in res.checks]
    assert "Hint: the result contains NaN or inf" in next(
        c.message for c in again.checks if c.check_id == "softmax.stability"
    )
