"""nbgrader's exchange: the README's release/fetch/submit/collect/autograde/feedback commands, run as written.

The commands are read from the README block after ``<!-- exchange-commands -->``; each runs in its
role's folder (the instructor in a copy of the course root with its nbgrader_config.py, the
student in a home folder with deploy/jupyterhub/nbgrader_config.py) against a temporary
exchange root (NBGRADER_EXCHANGE_ROOT). Between fetch and submit the student answers the quiz and
leaves the main notebook blank: the gradebook must then hold the quiz's points and none of the
functions', and the feedback must come back to the student.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.exchange import readme_commands
from helpers.paths import EXAMPLES, ROOT

from autograder import config
from autograder.units.softmax_regression import quiz
from autograder.units.softmax_regression import unit as softmax_unit

STUDENT = pwd.getpwuid(os.getuid()).pw_name
"""nbgrader names a submission after the OS user who submits (on a hub, each student's own); the
test runs both roles as one user, so the student is that user."""


def test_readme_block_has_every_exchange_step():
    roles = {cmd.split()[1]: role for role, cmd in readme_commands() if cmd.startswith("nbgrader")}
    assert roles == {
        "release_assignment": "instructor", "fetch_assignment": "student", "submit": "student",
        "collect": "instructor", "autograde": "instructor", "generate_feedback": "instructor",
        "release_feedback": "instructor", "fetch_feedback": "student",
    }  # fmt: skip


def test_student_config_names_the_same_course_and_exchange():
    from traitlets.config import Config, PyFileConfigLoader

    def load(path, exchange):
        os.environ["NBGRADER_EXCHANGE_ROOT"] = exchange
        try:
            cfg = PyFileConfigLoader(path.name, path=str(path.parent)).load_config()
        finally:
            del os.environ["NBGRADER_EXCHANGE_ROOT"]
        assert isinstance(cfg, Config)
        return cfg

    student = load(ROOT / "deploy" / "jupyterhub" / "nbgrader_config.py", "/x")
    course = load(ROOT / "nbgrader_config.py", "/x")
    assert student.CourseDirectory.course_id == course.CourseDirectory.course_id == "d2l-softmax"
    assert student.Exchange.root == course.Exchange.root == "/x"
    assert student.Execute.timeout >= 600  # the 10-epoch training cell, on a busy hub


def run(cmd: str, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    proc = subprocess.run(["bash", "-c", cmd], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=1800)  # fmt: skip
    assert proc.returncode == 0, f"{cmd} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.mark.slow
def test_release_fetch_submit_collect_autograde_feedback(tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints")
    for name in ("source", "scripts"):
        shutil.copytree(ROOT / name, course / name, ignore=ignore)
    shutil.copy(ROOT / "nbgrader_config.py", course)
    home = tmp_path / "home" / STUDENT
    home.mkdir(parents=True)
    shutil.copy(ROOT / "deploy" / "jupyterhub" / "nbgrader_config.py", home)
    exchange = tmp_path / "exchange"
    bin_dir = str(Path(sys.executable).parent)
    base = {k: v for k, v in os.environ.items() if k not in ("NBGRADER_DB_URL",)}
    base.update(NBGRADER_EXCHANGE_ROOT=str(exchange), MPLBACKEND="Agg", OMP_NUM_THREADS="1",
                PATH=bin_dir + os.pathsep + os.environ["PATH"], PYTHONDONTWRITEBYTECODE="1")  # fmt: skip
    envs = {
        "instructor": base,
        "student": {**base, "HOME": str(home)},
    }
    cwds = {"instructor": course, "student": home}
    fetched = home / config.ASSIGNMENT
    for role, cmd in readme_commands():
        if cmd.startswith("nbgrader submit"):  # the work: alice's quiz answers, functions blank
            assert (fetched / softmax_unit.MAIN_NOTEBOOK).is_file()
            shutil.copy(
                EXAMPLES / "alice_full" / config.ASSIGNMENT / softmax_unit.QUIZ_NOTEBOOK, fetched
            )
        run(cmd, cwds[role], envs[role])
        if cmd.startswith("nbgrader release_assignment"):
            outbound = exchange / "d2l-softmax" / "outbound" / config.ASSIGNMENT
            assert (outbound / softmax_unit.MAIN_NOTEBOOK).is_file()
            assert (outbound / "fashion_mnist.py").is_file()
        if cmd.startswith("nbgrader collect"):
            submitted = course / "submitted" / STUDENT / config.ASSIGNMENT
            assert (submitted / softmax_unit.QUIZ_NOTEBOOK).is_file()

    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        sub = gb.find_submission(config.ASSIGNMENT, STUDENT)
        by_notebook = {nb.name: nb.score for nb in sub.notebooks}
    assert by_notebook["quiz"] == pytest.approx(
        len(quiz.QUESTIONS) * config.QUIZ.points_per_question
    )
    assert by_notebook["softmax_regression"] == 0
    feedback = list(fetched.glob("feedback/*/softmax_regression.html"))
    assert feedback, sorted(p.name for p in fetched.rglob("*"))
    html = feedback[0].read_text()
    assert "run_checks" not in html  # hidden test code stays hidden in the feedback
    assert re.search(r"Score:\s*0(\.0)?\s*/\s*34", html), html[:2000]  # this notebook's points
