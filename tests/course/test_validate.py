"""nbgrader's Validate tells the truth: it fails on a blank or broken notebook and passes on a correct one.

``nbgrader validate`` runs as the Validate button does, in a student's folder holding the notebook,
the release helpers and the student-side config (deploy/jupyterhub/nbgrader_config.py: the cell
timeout that fits training, the data location). The visible test cells are graded cells worth
0 points; the same blank notebook with them ungraded again (as before) passes Validate, which is
the lie this guards against.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.paths import EXAMPLES, ROOT, SHARED_DATA

from autograder import config, units
from autograder.units.softmax_regression import unit as softmax_unit

RELEASE = ROOT / "release"
SUCCESS = "Success! Your notebook passes all the tests."
FAILED = "VALIDATION FAILED ON"


def visible_test_cells(nb: dict) -> list[dict]:
    return [c for c in nb["cells"]
            if c["metadata"].get("nbgrader", {}).get("grade_id", "").endswith("_visible_tests")]  # fmt: skip


@pytest.mark.parametrize("assignment", list(config.EDITIONS))
def test_visible_tests_are_graded_cells_worth_nothing(assignment):
    unit = units.get(assignment)
    for kind in ("source", "release"):
        nb = json.loads((ROOT / kind / assignment / unit.main_notebook).read_text())
        cells = visible_test_cells(nb)
        assert [c["metadata"]["nbgrader"]["grade_id"] for c in cells] == [
            f"{f}_visible_tests" for f in unit.graded_functions
        ]
        for c in cells:
            meta = c["metadata"]["nbgrader"]
            assert meta["grade"] is True and meta["points"] == 0 and meta["locked"] is True
            assert "BEGIN HIDDEN" not in "".join(c["source"])


def validate(tmp_path, student: str, notebooks, ungrade_visible=False) -> str:
    """nbgrader validate's output for `student`'s example notebooks, in a student's folder."""
    folder = tmp_path / student
    folder.mkdir(parents=True)
    for helper in ("fashion_mnist.py", "animator.py"):
        shutil.copy(RELEASE / config.ASSIGNMENT / helper, folder)
    shutil.copy(ROOT / "deploy" / "jupyterhub" / "nbgrader_config.py", folder)
    src = next((EXAMPLES / student).iterdir())
    for name in notebooks:
        nb = json.loads((src / name).read_text())
        if ungrade_visible:  # as released before: read-only cells, checksums to match
            import nbformat
            from nbgrader.utils import compute_checksum

            nb = nbformat.reads(json.dumps(nb), as_version=4)
            for c in visible_test_cells(nb):
                c.metadata.nbgrader.grade = False
                del c.metadata.nbgrader["points"]
                c.metadata.nbgrader.checksum = compute_checksum(c)
        (folder / name).write_text(json.dumps(nb))
    env = dict(os.environ, MPLBACKEND="Agg", OMP_NUM_THREADS="1",
               PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"])  # fmt: skip
    env.setdefault("FASHION_MNIST_ROOT", str(SHARED_DATA))
    env.pop("NBGRADER_DB_URL", None)
    proc = subprocess.run(["nbgrader", "validate", *notebooks], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=1800)  # fmt: skip
    return proc.stdout + proc.stderr


@pytest.mark.slow
def test_blank_fails_and_the_old_ungraded_cells_would_have_passed(tmp_path):
    out = validate(tmp_path, "carol_blank", [softmax_unit.MAIN_NOTEBOOK])
    assert FAILED in out and SUCCESS not in out
    assert "NotImplementedError" in out
    # the broken case this change rejects: visible tests that are not graded cells
    out = validate(
        tmp_path / "old", "carol_blank", [softmax_unit.MAIN_NOTEBOOK], ungrade_visible=True
    )
    assert SUCCESS in out and FAILED not in out


@pytest.mark.slow
def test_broken_softmax_fails_on_its_visible_test(tmp_path):
    out = validate(tmp_path, "dave_wrong_axis", [softmax_unit.MAIN_NOTEBOOK])
    assert FAILED in out and SUCCESS not in out
    assert "each row of softmax(X) must sum to 1" in out


@pytest.mark.slow
def test_correct_notebooks_pass(tmp_path):
    out = validate(tmp_path, "alice_full", [softmax_unit.MAIN_NOTEBOOK, softmax_unit.QUIZ_NOTEBOOK])
    assert out.count(SUCCESS) == 2 and FAILED not in out, out[-3000:]
