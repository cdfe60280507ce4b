"""The concise unit's source notebook: its cells against the unit's declarations, its reference
solutions run in-process, its text and its Chinese translation."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import sys
import time
import tomllib
from pathlib import Path

import nbformat
import pytest
import torch
from helpers.loading import load_module
from helpers.paths import ROOT
from torch import nn

from autograder.submissions.notebook import defined_names, definitions, python_source
from autograder.units import Unit

ASSIGNMENT = "softmax_regression_concise"
SOURCE = ROOT / "source" / ASSIGNMENT
FIRST = ROOT / "source" / "softmax_regression"
TRANSLATION = ROOT / "source" / "translations" / f"{ASSIGNMENT}.zh_CN.toml"
UNIT = Unit(ASSIGNMENT)
MAIN = SOURCE / UNIT.main_notebook
HIDDEN_COMMENT = re.compile(r"^# Hidden test: .+ \((\d+) points?\)$")
CJK = re.compile(r"[\u4e00-\u9fff]")
ENGLISH_LABELS = {'"train loss"', '"train acc"', '"test acc"'}
"""The plot's legend, kept in English in the Chinese edition (as d2l-zh; matplotlib's default
font has no Chinese glyphs)."""

D2L_37_SENTENCES = {
    "en": (
        # d2l 0.17, 3.7 "Concise Implementation of Softmax Regression" (PyTorch) and its exercises
        "made it much easier to implement linear regression",
        "the output layer of softmax regression is a fully-connected layer",
        "PyTorch does not implicitly reshape the inputs",
        "exponentiation can be a source of numerical stability issues",
        "might be larger than the largest number we can have for certain data types",
        "a common trick to address this",
        "we will pass the unnormalized predictions",
        "we use minibatch stochastic gradient descent with a learning rate of 0.1",
        "albeit this time with fewer lines of code than before",
        "Try adjusting the hyperparameters, such as the batch size",
        "Why might the test accuracy decrease after a while",
    ),
    "zh_CN": (
        # d2l-zh 2.0, 3.7 "softmax回归的简洁实现" and its exercises
        "通过深度学习框架的高级API也能更方便地实现softmax回归模型",
        "softmax回归的输出层是一个全连接层",
        "PyTorch不会隐式地调整输入的形状",
        "我们仍然以均值0和标准差0.01随机初始化权重",
        "从计算角度来看，指数可能会造成数值稳定性问题",
        "在继续softmax计算之前，先从所有",
        "我们没有将softmax概率传递到损失函数中",
        "我们使用学习率为0.1的小批量随机梯度下降作为优化算法",
        "这次的代码比之前更精简了",
        "尝试调整超参数，例如批量大小、迭代周期数和学习率",
        "为什么测试精度会在一段时间后降低",
    ),
}
"""Distinctive sentences of d2l's and d2l-zh's section 3.7 that our text must not copy."""


def load(path: Path) -> dict:
    """A notebook as plain JSON, each cell's source joined into one string."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        cell["source"] = "".join(cell["source"])
    return nb


def meta(cell: dict) -> dict:
    """The cell's nbgrader metadata ({} when none)."""
    return cell["metadata"].get("nbgrader", {})


def cells_by_id(path: Path = MAIN) -> dict[str, dict]:
    """grade_id -> cell of the notebook's nbgrader cells."""
    return {meta(c)["grade_id"]: c for c in load(path)["cells"] if meta(c)}


def load_zh_script():
    """scripts/make_zh_edition.py as a module."""
    return load_module(ROOT / "scripts" / "make_zh_edition.py", "make_zh_edition")


# -- the cells against the unit's declarations -------------------------------------------------
def test_the_unit_names_these_notebooks():
    assert UNIT.notebooks == (MAIN.name, "quiz.ipynb")
    assert all((SOURCE / name).is_file() for name in UNIT.notebooks)


@pytest.mark.parametrize("name", ["softmax_regression_concise.ipynb", "quiz.ipynb"])
def test_every_code_cell_parses_as_ipython_runs_it(name):
    nb = load(SOURCE / name)
    ids = [c["id"] for c in nb["cells"]]
    assert (nb["nbformat"], nb["nbformat_minor"]) >= (4, 5) and len(set(ids)) == len(ids)
    assert nb["metadata"]["softmax_course"] == {"edition": "en"}
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            ast.parse(python_source(cell["source"]), filename=f"{name} cell {cell['id']}")


def test_graded_cells_and_points_equal_the_units():
    graded = {gid: meta(c)["points"] for gid, c in cells_by_id().items() if meta(c)["grade"]}
    want = {"test_" + check.replace(".", "_"): points for check, points in UNIT.points.items()}
    want |= {f"{function}_visible_tests": 0 for function in UNIT.graded_functions}
    assert graded == want
    assert sum(graded.values()) == UNIT.max_points() == 40


def test_solution_cells_are_the_graded_functions_in_order_and_define_their_names():
    cells = [c for c in load(MAIN)["cells"] if meta(c).get("solution")]
    assert [meta(c)["grade_id"] for c in cells] == list(UNIT.graded_functions)
    for cell in cells:
        gid = meta(cell)["grade_id"]
        assert cell["cell_type"] == "code" and not meta(cell)["locked"]
        assert "### BEGIN SOLUTION" in cell["source"] and "### END SOLUTION" in cell["source"]
        nodes, error = definitions(cell["source"])
        assert error is None
        names = {name for node in nodes for name in defined_names(node)}
        wanted = set(UNIT.solution_cell_functions.get(gid, (gid,)))
        assert wanted <= names, (gid, wanted - names)


def test_each_hidden_test_names_its_check_states_its_points_and_follows_its_function():
    cells = cells_by_id()
    order = list(cells)
    for check, points in UNIT.points.items():
        gid = "test_" + check.replace(".", "_")
        source = cells[gid]["source"]
        first, *rest = source.split("\n")
        stated = HIDDEN_COMMENT.match(first)
        assert stated and int(stated.group(1)) == points, gid
        assert ("(1 point)" in first) == (points == 1), gid
        assert rest == [
            "### BEGIN HIDDEN TESTS",
            f'# graded outside this notebook by the confined grader: check "{check}"',
            "### END HIDDEN TESTS",
        ], gid
        function = check.split(".")[0]
        assert order.index(function) < order.index(gid), check


def test_visible_test_messages_fit_nbgrader_validate():
    """`nbgrader validate` cuts a failed assert's line at its width: every message fits whole."""
    from nbgrader.validator import Validator

    validator = Validator()
    limit = validator.width - 3 - len(validator.indent) - len("AssertionError: ")
    checked = 0
    for gid, cell in cells_by_id().items():
        if not gid.endswith("_visible_tests") and gid != "final_accuracy":
            continue
        for node in ast.walk(ast.parse(cell["source"])):
            if isinstance(node, ast.Assert) and node.msg is not None:
                parts = node.msg.values if isinstance(node.msg, ast.JoinedStr) else [node.msg]
                shown = sum(len(p.value) if isinstance(p, ast.Constant) else 12 for p in parts)
                assert shown <= limit, (gid, ast.unparse(node.msg))
                checked += 1
    assert checked >= 15


@pytest.mark.parametrize("name", ["fashion_mnist.py", "animator.py", "requirements.txt"])
def test_helpers_are_the_first_assignments_files(name):
    assert (SOURCE / name).read_bytes() == (FIRST / name).read_bytes()


def test_the_notebook_imports_only_what_its_folder_ships():
    setup = cells_by_id()["setup"]["source"]
    local = set(re.findall(r"^from (\w+) import", setup, re.M)) - {"torch"}
    assert local == {"fashion_mnist", "animator"}
    assert all((SOURCE / f"{module}.py").is_file() for module in local)


# -- the reference solutions, run in-process on small inputs -----------------------------------
@pytest.fixture(scope="module")
def solutions() -> dict:
    """The namespace the solution cells define, run in notebook order after the given code."""
    namespace = {"torch": torch, "nn": nn}
    cells = cells_by_id()
    for gid in ("accuracy", "accumulator", "evaluate_accuracy", "seed", *UNIT.graded_functions):
        exec(compile(python_source(cells[gid]["source"]), gid, "exec"), namespace)
    return namespace


def test_net_is_d2ls_model_with_d2ls_initialisation(solutions):
    net = solutions["net"]
    assert [type(m) for m in net] == [nn.Flatten, nn.Linear]
    assert net(torch.rand(3, 1, 28, 28)).shape == (3, 10)
    weight, bias = net[1].weight.detach(), net[1].bias.detach()
    assert weight.shape == (10, 784) and bias.shape == (10,)
    assert abs(float(weight.mean())) < 5 * 0.01 / 7840**0.5
    assert float(weight.std()) == pytest.approx(0.01, rel=0.05)
    assert float(bias.abs().max()) <= 1 / 784**0.5  # nn.Linear's own, left by d2l's init_weights


def test_stable_cross_entropy_is_exact_and_stable(solutions):
    ce = solutions["stable_cross_entropy"]
    torch.manual_seed(1)
    o = torch.randn(64, 10, dtype=torch.float64) * 5
    y = torch.randint(0, 10, (64,))
    want = nn.functional.cross_entropy(o, y, reduction="none")
    assert torch.allclose(ce(o, y), want, rtol=1e-12, atol=1e-12)
    big = torch.tensor([[1e4, -1e4, 0.0], [-1e4, -1e4 + 1, -1e4 + 2]])
    y_big = torch.tensor([1, 0])
    got = ce(big, y_big)
    assert torch.isfinite(got).all()
    assert torch.allclose(got, nn.functional.cross_entropy(big, y_big, reduction="none"))
    o = o.clone().requires_grad_(True)
    before = o.detach().clone()
    ce(o, y).sum().backward()
    want_grad = torch.softmax(before, 1) - nn.functional.one_hot(y, 10).double()
    assert torch.allclose(o.grad, want_grad) and torch.equal(o.detach(), before)


@pytest.mark.parametrize("absent", [False, True], ids=["every class", "an absent class"])
def test_softmax_ce_grad_equals_autograd(solutions, absent):
    torch.manual_seed(2)
    X = torch.randn(32, 784, dtype=torch.float64)
    y = torch.randint(0, 9 if absent else 10, (32,))
    W = (torch.randn(784, 10, dtype=torch.float64) * 0.01).requires_grad_(True)
    b = torch.randn(10, dtype=torch.float64).requires_grad_(True)
    nn.functional.cross_entropy(X @ W + b, y).backward()
    dW, db = solutions["softmax_ce_grad"](X, y, W.detach(), b.detach())
    assert dW.shape == (784, 10) and db.shape == (10,)
    assert torch.allclose(dW, W.grad, atol=1e-12) and torch.allclose(db, b.grad, atol=1e-12)
    if absent:
        assert db[9] > 0  # no example of class 9: its logits are pushed down


def test_train_manual_takes_torch_optims_sgd_steps(solutions):
    torch.manual_seed(3)
    batches = [(torch.rand(16, 1, 28, 28), torch.randint(0, 10, (16,))) for _ in range(5)]
    W0, b0 = torch.randn(784, 10) * 0.01, torch.zeros(10)
    W, b = solutions["train_manual"](W0.clone(), b0.clone(), batches, 2, 0.1)
    linear = nn.Linear(784, 10)
    with torch.no_grad():
        linear.weight.copy_(W0.T)
        linear.bias.copy_(b0)
    optimizer = torch.optim.SGD(linear.parameters(), lr=0.1)
    for _ in range(2):
        for X, y in batches:
            optimizer.zero_grad()
            nn.functional.cross_entropy(linear(X.reshape(-1, 784)), y).backward()
            optimizer.step()
    assert torch.allclose(W, linear.weight.detach().T, atol=1e-6)
    assert torch.allclose(b, linear.bias.detach(), atol=1e-6)


def test_training_defines_d2ls_loss_and_optimizer(solutions):
    loss, trainer = solutions["loss"], solutions["trainer"]
    assert isinstance(loss, nn.CrossEntropyLoss) and loss.reduction == "none"
    assert type(trainer) is torch.optim.SGD and trainer.param_groups[0]["lr"] == 0.1
    params = {id(p) for group in trainer.param_groups for p in group["params"]}
    assert params == {id(p) for p in solutions["net"].parameters()}


# -- the text: ours, and translated ------------------------------------------------------------
def normalised(text: str, edition: str) -> str:
    """Lowercase, whitespace collapsed (removed in Chinese): how sentences are compared."""
    joined = " ".join(text.split()).lower()
    return joined.replace(" ", "") if edition == "zh_CN" else joined


def copied(text: str, edition: str) -> list[str]:
    """The sentences of D2L_37_SENTENCES[edition] found in `text`."""
    plain = normalised(text, edition)
    return [s for s in D2L_37_SENTENCES[edition] if normalised(s, edition) in plain]


def test_copied_sentences_are_found_across_line_breaks():
    assert copied("PyTorch does not\nimplicitly reshape the inputs.", "en")
    assert copied("PyTorch 不会隐式地\n调整输入的形状", "zh_CN")


@pytest.mark.parametrize("name", ["softmax_regression_concise.ipynb", "quiz.ipynb"])
def test_the_text_is_ours_and_credits_both_books(name):
    nb = load(SOURCE / name)
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            assert not copied(cell["source"], "en"), cell["id"]
    title = nb["cells"][0]["source"]
    assert "https://d2l.ai" in title and "https://zh.d2l.ai" in title
    assert "Dive into Deep Learning" in title and "动手学深度学习" in title
    assert "softmax回归的简洁实现" in title and "3.7" in title
    for entry in tomllib.loads(TRANSLATION.read_text(encoding="utf-8"))["notebooks"][name][
        "cells"
    ].values():
        assert not copied(entry["zh"], "zh_CN")


def test_the_translation_covers_both_notebooks_exactly():
    """Every Markdown cell, visible comment and student-facing string has a Chinese translation
    (the legend's labels stay English), and no entry is left over."""
    zh = load_zh_script()
    data = zh.load_translation(TRANSLATION)
    used: set[str] = set()
    for name in UNIT.notebooks:
        nb = nbformat.read(SOURCE / name, as_version=4)
        translated = zh.translate_notebook(name, nb, data, used)
        for en_cell, zh_cell in zip(nb.cells, translated.cells, strict=True):
            where = f"{name} {en_cell.id}"
            if en_cell.cell_type == "markdown":
                assert CJK.search(zh_cell.source) and zh_cell.source != en_cell.source, where
                continue
            assert zh.without_student_text(zh_cell.source) == zh.without_student_text(
                en_cell.source
            ), where
            for _, _, text in zh.student_strings(zh_cell.source):
                assert CJK.search(text) or text in ENGLISH_LABELS, (where, text)
            for _, line in zh.visible_comment_lines(zh_cell.source):
                assert CJK.search(line), (where, line)
    entries = {e["en"].strip() for e in data["comments"]} | {e["en"] for e in data["strings"]}
    assert entries == used


def test_the_translation_keeps_the_quizs_content():
    """Each question keeps its code, numbers and formulas, and its options."""
    data = tomllib.loads(TRANSLATION.read_text(encoding="utf-8"))["notebooks"]["quiz.ipynb"]
    spans = re.compile(r"`[^`]+`|\$[^$]+\$")
    options = re.compile(r"^\* \((.)\)", re.M)
    for cell in load(SOURCE / "quiz.ipynb")["cells"]:
        if re.fullmatch(r"md-q\d+", cell["id"]):
            zh = data["cells"][cell["id"]]["zh"]
            assert spans.findall(zh) == spans.findall(cell["source"]), cell["id"]
            assert options.findall(zh) == options.findall(cell["source"]), cell["id"]


# -- the notebooks run ---------------------------------------------------------------------------
@pytest.mark.slow
def test_the_source_notebooks_run_clean_and_reach_the_stated_accuracy(tmp_path):
    """Run as a student would (Restart and Run All), in a copy of the folder: no cell fails, both
    trainings reach 0.8, in well under the stated few minutes."""
    from nbclient import NotebookClient

    folder = tmp_path / ASSIGNMENT
    shutil.copytree(SOURCE, folder)
    env = {"PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")}
    env |= {"MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        start = time.perf_counter()
        outputs = {}
        for name in UNIT.notebooks:
            nb = nbformat.read(folder / name, as_version=4)
            NotebookClient(nb, timeout=600, kernel_name="python3",
                           resources={"metadata": {"path": str(folder)}}).execute()  # fmt: skip
            outputs[name] = nb
        seconds = time.perf_counter() - start
    printed = {
        cell.id: "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        for cell in outputs[MAIN.name].cells
        if cell.cell_type == "code"
    }
    manual = float(re.search(r"test accuracy (\d\.\d+)", printed["manual_accuracy"]).group(1))
    concise = float(re.search(r"test accuracy (\d\.\d+)", printed["final_accuracy"]).group(1))
    assert manual >= 0.8 and concise >= 0.8, printed
    assert all(
        "visible tests passed" in printed[f"{f}_visible_tests"] for f in UNIT.graded_functions
    )
    assert seconds < float(os.environ.get("SOFTMAX_NOTEBOOK_SECONDS", 300))
