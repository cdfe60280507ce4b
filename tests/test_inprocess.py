"""The nbgrader path: run_checks on a notebook's namespace (autograder/inprocess.py)."""

from __future__ import annotations

import pytest
from conftest import FILES

from autograder.inprocess import forbidden_in, run_checks

BASE = FILES / "impls" / "base.py"


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
    with pytest.raises(AssertionError, match="forbidden"):
        run_checks("cross_entropy.model_gradient", ns)  # runs softmax too
    assert run_checks("cross_entropy.values", ns) is None
