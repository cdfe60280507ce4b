"""``python -m pytest --submission PATH`` (the pytest11 plugin): one test per student and check,
points, junitxml, xdist; nothing from a student's folder is collected."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from autograder import config
from autograder.plugin import check_ids as plugin_check_ids
from autograder.units.softmax_regression import quiz
from autograder.units.softmax_regression import unit as softmax_unit


@pytest.mark.slow
def test_pytest_path_grades_with_points_and_junitxml(tmp_path, root, examples):
    xml = tmp_path / "report.xml"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "2",
         "--submission", str(examples / "alice_full"), "--submission", str(examples / "bob_naive_softmax"),
         f"--junitxml={xml}", "-q"],
        cwd=root, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stdout[-3000:]  # bob fails the stability check
    assert "bob_naive_softmax::softmax.stability" in proc.stdout
    assert (
        "subtract each row's maximum" in proc.stdout.lower() or "Subtract each row" in proc.stdout
    )
    cases = ET.parse(xml).getroot().iter("testcase")
    scores = {}
    for case in cases:
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        scores.setdefault(props["student"], 0.0)
        scores[props["student"]] += float(props["score"])
    total = (
        float(sum(softmax_unit.POINTS.values()))
        + len(quiz.QUESTIONS) * config.QUIZ.points_per_question
    )
    assert scores["alice_full"] == total
    assert scores["bob_naive_softmax"] == total - softmax_unit.POINTS["softmax.stability"]


@pytest.mark.slow
def test_verbose_names_student_and_check_and_the_end_is_a_table_of_scores(root, examples):
    """-v names each test ``student::check``; the last lines before pytest's count are one row
    per student with the score, as ``grade`` prints them (the full and the blank submission)."""
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-v",
         "--submission", str(examples / "alice_full"), "--submission", str(examples / "carol_blank")],
        cwd=root, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    lines = proc.stdout.splitlines()
    assert proc.returncode == 1, proc.stdout[-3000:]  # carol loses every point
    ids = [cid for cid, _ in plugin_check_ids()]
    for student in ("alice_full", "carol_blank"):
        for cid in ids:
            assert any(ln.startswith(f"{student}::{cid} ") for ln in lines), (student, cid)
    assert "FAILED carol_blank::softmax.values" in proc.stdout
    end = lines[lines.index(next(ln for ln in lines if " grades " in ln)) + 1 : -1]
    assert not any(ln.startswith("FAILED") for ln in end)  # after pytest's short summary
    rows = {ln.split()[0]: ln.split() for ln in end if ln.split()}
    total = (
        float(sum(softmax_unit.POINTS.values()))
        + len(quiz.QUESTIONS) * config.QUIZ.points_per_question
    )
    assert rows["student"][:3] == ["student", "score", "status"]
    assert rows["alice_full"][1] == f"{total:g}/{total:g}"
    assert rows["carol_blank"][1] == f"0/{total:g}"
    assert len(rows) == 4  # header, rule, two students


@pytest.mark.slow
def test_points_marker_is_registered(root):
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--markers"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "points(n)" in proc.stdout


@pytest.mark.slow
def test_a_mistyped_submission_is_a_usage_error(tmp_path, root):
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
         "--submission", str(tmp_path / "submittted")],
        cwd=root, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    out = proc.stdout + proc.stderr
    assert proc.returncode == 4, out  # pytest's usage-error exit code
    assert "INTERNALERROR" not in out and "Traceback" not in out
    assert "submittted" in out and "no such file or folder" in out


@pytest.mark.slow
def test_nothing_in_a_students_folder_is_collected_or_imported(tmp_path, root, examples):
    """A student's conftest.py and test_*.py would run in the grader's process if pytest walked
    their folder: the plugin collects only its own grading items, so neither runs."""
    import shutil

    sub = tmp_path / "mallory"
    shutil.copytree(examples / "carol_blank", sub)
    canary = tmp_path / "canary"
    evil = f"open({str(canary)!r}, 'a').write('ran\\n')\n"
    for folder in (sub, sub / config.ASSIGNMENT):
        (folder / "conftest.py").write_text(evil)
        (folder / "test_evil.py").write_text(evil + "def test_x():\n    pass\n")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--submission", str(sub), "-q",
         "--collect-only"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert not canary.exists(), out
    assert "test_evil" not in out
    n_items = len(quiz.QUESTIONS) + len(softmax_unit.POINTS)
    assert f"{n_items} tests collected" in out, out


class _Config:
    """What pytest_configure reads of pytest's Config, for an in-process call."""

    def __init__(self, options: dict):
        self.stash, self.args, self.options = pytest.Stash(), [], options
        self.option = type("Option", (), {"dist": "no"})()
        self.pluginmanager = type("Plugins", (), {"register": lambda *a: None})()

    def getoption(self, name, default=None):
        return self.options.get(name, default)

    def addinivalue_line(self, name, line):
        pass


@pytest.mark.parametrize(("student", "preload"), [
    ("alice_full", []), ("uses_optim", ["autograder.sandbox.preload_optim"])
])  # fmt: skip
def test_the_grading_process_preloads_only_what_its_submissions_import(
    monkeypatch, tmp_path, examples, student, preload
):
    """As `python -m autograder grade`: the fork server imports torch.optim's first use (torch's
    dynamo, about 1.5 s) only for a class whose code uses torch.optim itself."""
    import json
    import shutil

    from autograder import plugin, sandbox
    from autograder.grading import batch
    from autograder.sandbox import forkserver

    folder = tmp_path / student
    shutil.copytree(examples / "alice_full", folder)
    if student == "uses_optim":
        main = folder / config.ASSIGNMENT / softmax_unit.MAIN_NOTEBOOK
        nb = json.loads(main.read_text(encoding="utf-8"))
        nb["cells"].append({"cell_type": "code", "metadata": {}, "outputs": [],
                            "execution_count": None, "source": "trainer = torch.optim.SGD([W], lr=0.1)"})  # fmt: skip
        main.write_text(json.dumps(nb), encoding="utf-8")
    started = []
    monkeypatch.setattr(forkserver, "start", lambda **kw: started.append(kw))
    monkeypatch.setattr(sandbox, "check", lambda: None)
    monkeypatch.setattr(batch, "check_data", lambda assignments: None)
    plugin.pytest_configure(_Config({"submission": [str(folder)]}))
    (call,) = started
    assert call["preload"] == preload
    # --collect-only lists the checks and grades nothing: no fork server, no reference runs
    plugin.pytest_configure(_Config({"submission": [str(folder)], "collectonly": True}))
    assert len(started) == 1


def test_without_submission_the_plugin_is_inert(tmp_path):
    """Installed for every pytest run in the environment, it adds nothing to other projects' runs."""
    (tmp_path / "test_other.py").write_text("def test_one():\n    pass\n")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", str(tmp_path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0 and "1 passed" in proc.stdout, proc.stdout + proc.stderr


@pytest.mark.slow
def test_refused_without_the_data_set(root, examples, no_data_env):
    """Before any student is graded (#23 item 2): a usage error naming the folder and variable."""
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--submission",
         str(examples / "carol_blank")],
        cwd=root, env=no_data_env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    out = proc.stdout + proc.stderr
    assert proc.returncode == 4, out  # pytest's usage error: no test ran
    assert no_data_env["FASHION_MNIST_ROOT"] in out and "FASHION_MNIST_ROOT" in out.replace(
        no_data_env["FASHION_MNIST_ROOT"], ""
    )
    assert "passed" not in out and "failed" not in out and "INTERNALERROR" not in out
