"""Checks run in process on a notebook's namespace (autograder/inprocess.py, the self-check's caller)."""

from __future__ import annotations

import pytest
from helpers.paths import FILES

from autograder import i18n
from autograder.checks import loop
from autograder.inprocess import InProcessCaller, forbidden_in
from autograder.units.softmax_regression import checks

BASE = FILES / "impls" / "base.py"


def run_checks(selector, namespace, lang=None):
    """Run the checks named by `selector` on `namespace` in this process; AssertionError with the
    student-facing messages when one fails (as the self-check reports them)."""
    caller = InProcessCaller(namespace)
    with i18n.use(lang or i18n.here()):
        results = loop.run(checks.REGISTRY.select(selector), caller, needs=checks.REGISTRY.needs,
                           forbidden=forbidden_in(namespace))  # fmt: skip
        failures = [f"[{r.check_id}] {r.status}: {r.message}" for r in results if not r.passed]
    if failures:
        raise AssertionError("\n\n".join(failures))


def namespace_from(tmp_path, extra=""):
    """Execute base.py plus `extra` from a real file, as a kernel would (so source is findable)."""
    path = tmp_path / "notebook_cells.py"
    path.write_text(BASE.read_text() + "\n" + extra)
    ns = {"__name__": "__main__"}
    exec(compile(path.read_text(), str(path), "exec"), ns)
    return ns


def test_correct_functions_pass(tmp_path):
    ns = namespace_from(tmp_path)
    for selector in ("softmax", "cross_entropy", "accuracy"):
        assert run_checks(selector, ns) is None


def test_failure_raises_with_the_student_message(tmp_path):
    ns = namespace_from(
        tmp_path, "def softmax(X):\n    e = torch.exp(X)\n    return e / e.sum(1, keepdim=True)\n"
    )
    with pytest.raises(AssertionError) as err:
        run_checks("softmax.stability", ns)
    assert "[softmax.stability] failed" in str(err.value) and "Subtract each row's maximum" in str(
        err.value
    )


def test_builtins_cost_the_function_in_the_nbgrader_path_too(tmp_path):
    ns = namespace_from(tmp_path, "def softmax(X):\n    return torch.softmax(X, dim=1)\n")
    assert "softmax" in forbidden_in(ns)
    with pytest.raises(AssertionError, match="forbidden: softmax uses torch.softmax"):
        run_checks("softmax.values", ns)
    # cross_entropy's checks run torch's own softmax, never the student's: no cost there
    assert run_checks("cross_entropy.model_gradient", ns) is None
    assert run_checks("cross_entropy.values", ns) is None


def test_operators_reached_by_a_computed_name_are_forbidden_in_every_check(tmp_path):
    """No name for the source scan to find; the dispatcher-level record still catches it."""
    src = 'def softmax(X):\n    return getattr(torch.ops.aten, "_soft" + "max")(X, 1, False)\n'
    ns = namespace_from(tmp_path, src)
    assert forbidden_in(ns) == {}
    for check_id, _ in checks.REGISTRY.select("softmax"):
        with pytest.raises(AssertionError, match=r"forbidden: softmax ran aten::_softmax"):
            run_checks(check_id, ns)
    assert run_checks("cross_entropy", ns) is None


def test_cross_entropy_through_nll_loss_is_forbidden_in_every_check(tmp_path):
    src = (
        'def cross_entropy(y_hat, y):\n    f = getattr(torch.nn.functional, "nll" + "_loss")\n'
        '    return f(torch.log(y_hat), y, reduction="none")\n'
    )
    ns = namespace_from(tmp_path, src)
    assert forbidden_in(ns) == {}
    for check_id, _ in checks.REGISTRY.select("cross_entropy"):
        with pytest.raises(AssertionError, match=r"forbidden: cross_entropy ran aten::nll_loss"):
            run_checks(check_id, ns)


def test_a_blank_function_is_told_to_replace_the_raise(tmp_path):
    ns = namespace_from(tmp_path, "def accuracy(y_hat, y):\n    raise NotImplementedError()\n")
    with pytest.raises(AssertionError) as err:
        run_checks("accuracy", ns)
    text = str(err.value)
    assert text.count("accuracy is not implemented yet: replace `raise NotImplementedError()`") == 3


def test_a_chinese_notebooks_kernel_gets_chinese_messages(tmp_path, monkeypatch, root):
    """nbgrader runs a notebook in its folder: the edition of the notebook there decides."""
    from autograder import i18n

    monkeypatch.delenv(i18n.OVERRIDE_ENV, raising=False)
    ns = namespace_from(
        tmp_path, "def softmax(X):\n    e = torch.exp(X)\n    return e / e.sum(1, keepdim=True)\n"
    )
    monkeypatch.chdir(root / "release" / "softmax_regression_zh")
    with pytest.raises(AssertionError) as err:
        run_checks("softmax.stability", ns)
    assert "[softmax.stability] failed" in str(err.value) and "提示：结果中有 NaN 或 inf" in str(
        err.value
    )
    with pytest.raises(AssertionError) as err:
        run_checks("softmax.stability", ns, lang="en")
    assert "Subtract each row's maximum" in str(err.value)


def test_a_followed_run_in_this_process_stops_at_the_top_tier(tmp_path):
    """The self-check's end-to-end run ends (calls.StopTraining) at the first epoch that reaches
    the top tier, as a worker's is killed there."""
    from autograder import config

    caller = InProcessCaller(namespace_from(tmp_path))
    run = caller.train("end_to_end")
    assert run["ok"] and 1 <= run["stopped_after"] < config.NUM_EPOCHS
    assert run["steps"] == run["stopped_after"] * run["batches_per_epoch"]
    assert run["test_accuracy"] >= config.ACCURACY_TIERS[0][0]
    assert caller.train("grader_model").get("stopped_after") is None  # not followed


SWALLOWS = """
def train_ch3(net, train_iter, test_iter, loss, num_epochs, updater):
    for epoch in range(num_epochs):
        try:
            train_epoch_ch3(net, train_iter, loss, updater)
        except BaseException:
            pass  # swallows everything, the grader's stop too
        evaluate_accuracy(net, test_iter)
"""


@pytest.mark.slow
def test_a_run_that_swallows_the_stop_is_judged_where_it_was_stopped(tmp_path, monkeypatch):
    from autograder import config

    stopped = InProcessCaller(namespace_from(tmp_path)).train("end_to_end")
    swallowed = InProcessCaller(namespace_from(tmp_path, SWALLOWS)).train("end_to_end")
    monkeypatch.setattr(config, "STOP_EARLY", False)
    whole = InProcessCaller(namespace_from(tmp_path)).train("end_to_end")
    assert "stopped_after" not in whole and whole["steps"] > stopped["steps"]
    monkeypatch.setattr(config, "STOP_EARLY", True)
    cut = InProcessCaller(namespace_from(tmp_path))._cut(whole, "end_to_end")
    for run in (swallowed, cut):
        assert run["stopped_after"] == stopped["stopped_after"]
        assert (run["W"] == stopped["W"]).all() and (run["b"] == stopped["b"]).all()
