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
from nbclient import NotebookClient

from autograder import config
from autograder.units.softmax_regression import quiz

REPO = Path(__file__).resolve().parents[2]
SOURCE = REPO / "source" / config.ASSIGNMENT
SOURCE_SECONDS_LIMIT = float(os.environ.get("SOFTMAX_NOTEBOOK_SECONDS", 300))
"""Both source notebooks under nbval, kernel start-up included. Measured about 30 s on an idle
2-core machine; the bound is generous because CI machines may be shared."""

RELEASE_ERRORS = {
    # The answer cells define the functions, whose bodies raise NotImplementedError: the cells that
    # call them fail (net calls softmax). The hidden-test cells are bare comments in the release.
    config.MAIN_NOTEBOOK: {
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
    config.QUIZ_NOTEBOOK: {
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
    notebooks = [str(SOURCE / name) for name in (config.MAIN_NOTEBOOK, config.QUIZ_NOTEBOOK)]
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


@pytest.fixture(scope="module", params=list(config.EDITIONS))
def executed_release(request, tmp_path_factory) -> dict[str, nbformat.NotebookNode]:
    """The release notebooks of each edition run unanswered in a copy of release/ (errors allowed)."""
    folder = tmp_path_factory.mktemp("release") / request.param
    shutil.copytree(
        REPO / "release" / request.param, folder, ignore=shutil.ignore_patterns("__pycache__")
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


@pytest.mark.parametrize("name", list(RELEASE_ERRORS))
def test_release_fails_exactly_in_the_answer_cells_and_their_users(executed_release, name):
    assert errors_of(executed_release[name]) == RELEASE_ERRORS[name]
