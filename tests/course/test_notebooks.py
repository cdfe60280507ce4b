"""The notebooks run: source/ runs clean under nbval; release/ fails exactly where students must write code."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from helpers.paths import ROOT
from nbclient import NotebookClient

from autograder import config, units
from autograder.units.softmax_regression import quiz
from autograder.units.softmax_regression import unit as softmax_unit

SOURCE = ROOT / "source" / config.ASSIGNMENT
SOURCE_SECONDS_LIMIT = float(os.environ.get("SOFTMAX_NOTEBOOK_SECONDS", 300))
"""Both source notebooks under nbval, kernel start-up included. Measured about 30 s on an idle
2-core machine; the bound is generous because CI machines may be shared."""

RELEASE_ERRORS = {
    # The answer cells define the functions, whose bodies raise NotImplementedError: the cells that
    # call them fail (net calls softmax). The hidden-test cells are bare comments in the release.
    softmax_unit.MAIN_NOTEBOOK: {
        cell: "NotImplementedError"
        for cell in (
            "softmax_visible_tests",
            "cross_entropy_visible_tests",
            "accuracy_visible_tests",
            "initial_accuracy",
            "train_ch3_visible_tests",
            "train",
            "final_accuracy",
            "predict",
        )
    },
    # The answer cells raise at top level; their test cells find no answer variable.
    softmax_unit.QUIZ_NOTEBOOK: {
        **{q.qid: "NotImplementedError" for q in quiz.QUESTIONS},
        **{f"test_{q.qid}": "NameError" for q in quiz.QUESTIONS},
    },
}
"""Release notebook -> cell id -> the exception it raises when run unanswered."""


def kernel_env() -> dict[str, str]:
    """Environment of notebook kernels: this interpreter first on PATH, no bytecode next to sources."""
    bin_dir = str(Path(sys.executable).parent)
    return {
        **os.environ,
        "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
        "PYTHONDONTWRITEBYTECODE": "1",
        "MPLBACKEND": "Agg",
        "OMP_NUM_THREADS": "1",  # as tests/conftest.py: no thread oversubscription on 2 cores
    }


@pytest.mark.slow
def test_source_notebooks_run_clean_under_nbval(tmp_path):
    notebooks = [
        str(SOURCE / name) for name in (softmax_unit.MAIN_NOTEBOOK, softmax_unit.QUIZ_NOTEBOOK)
    ]
    command = [sys.executable, "-m", "pytest", "-p", "nbval", "--nbval-lax", "--nbval-current-env"]
    command += ["-p", "no:cacheprovider", "-q", "--rootdir", str(tmp_path), *notebooks]
    start = time.perf_counter()
    result = subprocess.run(
        command, cwd=tmp_path, env=kernel_env(), capture_output=True, text=True, timeout=900
    )
    seconds = time.perf_counter() - start
    assert result.returncode == 0, (
        f"nbval failed on source/:\n{result.stdout[-6000:]}\n{result.stderr[-2000:]}"
    )
    assert " passed" in result.stdout and "failed" not in result.stdout
    assert seconds < SOURCE_SECONDS_LIMIT, f"the source notebooks took {seconds:.0f} s under nbval"


def errors_of(notebook: nbformat.NotebookNode) -> dict[str, str]:
    """cell id -> exception name, for the cells whose execution raised."""
    return {
        cell.id: output.ename
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.output_type == "error"
    }


FIRST_UNIT_EDITIONS = units.assignments_of(units.get(config.ASSIGNMENT))
"""The editions these tests are about (the second unit's notebooks are run by
tests/units/test_concise_notebook.py)."""


@pytest.fixture(scope="module", params=FIRST_UNIT_EDITIONS)
def executed_release(request, tmp_path_factory) -> dict[str, nbformat.NotebookNode]:
    """The release notebooks of each edition run unanswered in a copy of release/ (errors allowed)."""
    folder = tmp_path_factory.mktemp("release") / request.param
    shutil.copytree(
        ROOT / "release" / request.param, folder, ignore=shutil.ignore_patterns("__pycache__")
    )
    executed = {}
    with pytest.MonkeyPatch.context() as mp:
        for key, value in kernel_env().items():
            mp.setenv(key, value)
        for name in RELEASE_ERRORS:
            nb = nbformat.read(folder / name, as_version=4)
            client = NotebookClient(
                nb,
                timeout=600,
                kernel_name="python3",
                allow_errors=True,
                resources={"metadata": {"path": str(folder)}},
            )
            client.execute()
            executed[name] = nb
    return executed


@pytest.mark.slow
@pytest.mark.parametrize("name", list(RELEASE_ERRORS))
def test_release_fails_exactly_in_the_answer_cells_and_their_users(executed_release, name):
    assert errors_of(executed_release[name]) == RELEASE_ERRORS[name]


D2L_SENTENCES = {
    "en": (
        # d2l 0.17, 3.5 "Image Classification Dataset" and 3.6 "Implementation of Softmax
        # Regression from Scratch" (PyTorch), and its exercises
        "ought to know the gory details",
        "softmax consists of three steps",
        "should look strikingly familiar",
        "classification problems far outnumber regression problems",
        "Gmail must categorize an email",
        "at the end of the day it has to choose",
        "we assume that the second dimension stores prediction scores for each class",
        "is sensitive to data types",
        "Taking the sum yields the number of correct predictions",
        "which is inconsistent with the actual label",
        "we refactor the implementation to make it reusable",
        "treat each pixel location as just another feature",
        "each example here will be represented by a fixed-length vector",
        "models the distribution over an ensemble of particles",
        "we turn each element into a non-negative number",
        "should be close to random guessing",
        "is a general function to update the model parameters",
        "our model is ready to classify some images",
        "Is it always a good idea to return the most likely label",
    ),
    "zh_CN": (
        # d2l-zh 2.0, 3.5 "图像分类数据集" and 3.6 "softmax回归的从零开始实现", and its exercises
        "应该知道实现softmax回归的细节",
        "实现softmax由三个步骤组成",
        "该名称来自统计物理学中一个模拟粒子群分布的方程",
        "softmax回归的训练过程代码应该看起来非常眼熟",
        "我们重构训练过程的实现以使其可重复使用",
        "目前分类问题的数量远远超过回归问题的数量",
        "Gmail必须将电子邮件分类",
        "假定第二个维度",  # d2l-zh: 如果y_hat是矩阵，那么假定第二个维度存储每个类的预测分数
        "对数据类型很敏感",
        "这与实际标签0不一致",
        "暂时只把每个像素位置看作一个特征",
        "我们的模型已经准备好对图像进行分类预测",
        "返回概率最大的分类标签总是最优解吗",
    ),
}
"""Distinctive sentences of d2l and d2l-zh that our text must not copy (it keeps their facts)."""


def normalised(text: str, edition: str) -> str:
    """Text as compared with D2L_SENTENCES: lowercase, whitespace collapsed (removed in Chinese)."""
    joined = " ".join(text.split()).lower()
    return joined.replace(" ", "") if edition == "zh_CN" else joined


def copied_sentences(text: str, edition: str) -> list[str]:
    """The D2L_SENTENCES of `edition` found in `text`, however its lines are wrapped."""
    plain = normalised(text, edition)
    return [s for s in D2L_SENTENCES[edition] if normalised(s, edition) in plain]


def test_copied_sentences_are_found_across_line_breaks():
    assert copied_sentences("You ought to know\nthe  GORY details.", "en") == [
        "ought to know the gory details"
    ]
    assert copied_sentences("实现 softmax 由三个\n步骤组成：", "zh_CN") == [
        "实现softmax由三个步骤组成"
    ]
    assert copied_sentences("the gory part", "en") == []


@pytest.mark.parametrize("assignment", FIRST_UNIT_EDITIONS)
@pytest.mark.parametrize("notebook", [softmax_unit.MAIN_NOTEBOOK, softmax_unit.QUIZ_NOTEBOOK])
def test_the_text_is_ours_not_d2ls_sentences(assignment, notebook):
    edition = config.EDITIONS[assignment]
    nb = nbformat.read(ROOT / "source" / assignment / notebook, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            found = copied_sentences(cell.source, edition)
            assert not found, f"source/{assignment}/{notebook} cell {cell.id} copies d2l: {found}"
