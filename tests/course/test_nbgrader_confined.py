"""nbgrader's own path under attack: `nbgrader autograde`, `generate_feedback` and `export` on a
red-team class (tests/files/redteam/round3_nbgrader.py), as the invoking user and, when that is
root, as ``nobody``. No unearned point, no canary read or written, no secret in autograded/,
feedback/ or the grades, no connection out, no process left; honest students keep their marks;
a demo cell that never ends is cut and said to be."""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
from helpers.loading import corpus_module
from helpers.paths import EXAMPLES, ROOT, SHARED_DATA

ASSIGNMENT = "softmax_regression"
CELL_SECONDS = 4
"""The confined kernel's per-cell limit in this test (the course's is 600 s): the hanging demo
cell waits this long in each of the two runs. The slowest honest cell, alice's 10-epoch
training, takes about 2.5 s on an idle machine; a cell cut there would lose its outputs, not a
point (no assertion reads an honest student's outputs)."""


corpus, runas = corpus_module("redteam", "round3_nbgrader"), corpus_module("redteam", "runas")


def _env(course: Path, base: Path, secret: str, data_root: str) -> dict[str, str]:
    """nbgrader's environment: the course's own copy of the grader first on the path, a secret."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOFTMAX_", "NBGRADER_"))}
    env.update(
        PATH=str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", ""),
        PYTHONPATH=str(course), SOFTMAX_COURSE_ROOT=str(course), FASHION_MNIST_ROOT=data_root,
        HOME=str(base), TMPDIR=str(base / "t"), SOFTMAX_TEST_SECRET=secret,
        PYTHONDONTWRITEBYTECODE="1", MPLBACKEND="Agg", OMP_NUM_THREADS="1",
    )  # fmt: skip
    return env


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """A course with both editions recorded in its gradebook, and its own copy of the grader."""
    course = tmp_path_factory.mktemp("nbgrader-template") / "course"
    ignore = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints")
    for part in ("autograder", "source", "release"):
        shutil.copytree(ROOT / part, course / part, ignore=ignore)
    shutil.copy(ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    env = {k: v for k, v in os.environ.items() if k != "NBGRADER_DB_URL"}
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    release = subprocess.run(
        ["bash", str(ROOT / "scripts" / "release.sh"), "--gradebook", str(course)],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert release.returncode == 0, release.stderr[-3000:]
    return course


def _tree(folder: Path) -> dict:
    return {
        str(p): (
            hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "",
            p.lstat().st_mode,
        )
        for p in sorted(folder.rglob("*"))
    }


def _texts(*folders: Path) -> str:
    return "\n".join(
        p.read_text(errors="replace")
        for folder in folders
        for p in folder.rglob("*")
        if p.is_file() and p.suffix in (".ipynb", ".html", ".csv", ".json", ".txt", ".log")
    )


def _left_behind(base: Path) -> list[str]:
    """Processes still running from this course (kernels, workers, the fork server)."""
    found = []
    for proc in psutil.process_iter(["cmdline", "environ"]):
        try:
            text = " ".join(proc.info.get("cmdline") or []) + str(proc.info.get("environ") or "")
        except psutil.Error:
            continue
        if str(base) in text and proc.pid != os.getpid():
            found.append(f"{proc.pid}: {' '.join(proc.info.get('cmdline') or [])[:200]}")
    return found


def run_class(template: Path, base: Path, user: str) -> dict:
    """Autograde the red-team class in a copy of `template` as `user`; what the tests check."""
    base.mkdir(parents=True)
    os.chmod(base, 0o755)
    course = base / "course"
    shutil.copytree(template, course)
    (base / "t").mkdir()
    canary_dir = base / "canary"
    canary_dir.mkdir()
    secret = "CANARY-" + secrets.token_hex(12)
    (canary_dir / "secret.txt").write_text(secret + "\n")
    submitted = course / "submitted"
    shutil.copytree(EXAMPLES / "alice_full", submitted / "alice_copy")
    other = submitted / "alice_copy" / ASSIGNMENT / "softmax_regression.ipynb"
    nb = json.loads(other.read_text())
    nb["cells"][0]["source"] = f"# OTHER-STUDENT-{secret}\n" + "".join(nb["cells"][0]["source"])
    other.write_text(json.dumps(nb))
    listener = runas.Listener()
    data_root = os.environ.get("FASHION_MNIST_ROOT", str(SHARED_DATA))
    key = course / "autograder" / "units" / ASSIGNMENT / "answer_key.json"
    target = corpus.NbTarget(
        canary=str(canary_dir / "secret.txt"), canary_dir=str(canary_dir), answer_key=str(key),
        gradebook=str(course / "gradebook.db"), other_student=str(other),
        secret_env="SOFTMAX_TEST_SECRET", port=listener.port,
    )  # fmt: skip
    cases = corpus.build(submitted, ROOT, target)
    if user == "nobody":
        for p in [base, *base.rglob("*")]:
            os.chown(p, runas.NOBODY, runas.NOBODY, follow_symlinks=False)
    before = _tree(canary_dir)
    gradebook_before = (course / "gradebook.db").stat().st_size
    env = _env(course, base, secret, data_root)
    nbgrader = str(Path(sys.executable).parent / "nbgrader")
    steps = [
        [nbgrader, "autograde", ASSIGNMENT, f"--ConfinedGrade.timeout={CELL_SECONDS}"],
        [nbgrader, "generate_feedback", ASSIGNMENT],
        [nbgrader, "export", "--to", str(course / "grades.csv")],
    ]
    logs, codes = [], []
    keeps = [base.parent / f"softmax-ns-{secrets.token_hex(4)}" for _ in steps]
    try:
        for cmd, keep in zip(steps, keeps):
            if user == "nobody":  # each step in its own mount namespace (its own binding folder)
                keep.mkdir()
                needed = [Path(sys.executable), Path(sys.prefix), Path(sys.base_prefix), base,
                          Path(data_root)]  # fmt: skip
                cmd = runas.as_nobody(cmd, needed, keep)
            proc = subprocess.run(cmd, cwd=course, env=env, capture_output=True, text=True,
                                  timeout=1800)  # fmt: skip
            codes.append(proc.returncode)
            logs.append(proc.stdout + proc.stderr)
    finally:
        listener.close()
        for keep in keeps:
            shutil.rmtree(keep, ignore_errors=True)
    return {
        "cases": cases, "codes": codes, "logs": logs, "course": course, "secret": secret,
        "key": key.read_text(), "before": before, "after": _tree(canary_dir),
        "gradebook_grew": (course / "gradebook.db").stat().st_size - gradebook_before,
        "gradebook_pwned": b"pwned" in (course / "gradebook.db").read_bytes(),
        "listener": listener, "left_behind": _left_behind(base),
        "left_in_tmpdir": sorted(p.name for p in (base / "t").iterdir()),
    }  # fmt: skip


@pytest.fixture(scope="module", params=["invoker", "nobody"])
def graded(request, template):
    if request.param == "nobody" and os.geteuid() != 0:
        pytest.skip("switching to uid 65534 needs root; as a non-root user the 'invoker' run "
                    "already grades as an ordinary user")  # fmt: skip
    base = Path("/tmp") / f"softmax-nbgrader-redteam-{secrets.token_hex(6)}"
    try:
        yield run_class(template, base, request.param)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def code_points(course: Path, student: str) -> tuple[float, float]:
    """(auto score of the main notebook's test cells, of the quiz's) in nbgrader's gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "d2l-softmax") as gb:
        sub = gb.find_submission(ASSIGNMENT, student)
        totals = {}
        for notebook in sub.notebooks:
            totals[notebook.name] = sum(
                g.auto_score or 0.0 for g in notebook.grades if g.cell.cell_type == "code"
            )
    return totals["softmax_regression"], totals["quiz"]


def test_the_corpus_states_an_outcome_for_each_attack_it_writes(tmp_path):
    """The quick part of this module: every attack is written as a student's two notebooks, its
    code in the graded cell, with the points it may end with (the slow tests grade it)."""
    target = corpus.NbTarget(
        canary=str(tmp_path / "canary"), canary_dir=str(tmp_path), answer_key="/key.json",
        gradebook="/gradebook.db", other_student="/other.ipynb", secret_env="SECRET", port=9,
    )  # fmt: skip
    cases = corpus.build(tmp_path / "submitted", ROOT, target)
    assert "forged_judge" in cases and "honest_train_stub" in cases
    for name, attack in cases.items():
        folder = tmp_path / "submitted" / name / ASSIGNMENT
        assert sorted(p.name for p in folder.iterdir()) == [
            "quiz.ipynb",
            "softmax_regression.ipynb",
        ]
        assert 0 <= attack.min_code_points <= attack.max_code_points, name
        cells = json.loads((folder / "softmax_regression.ipynb").read_text())["cells"]
        ids = {c["metadata"].get("nbgrader", {}).get("grade_id") for c in cells}
        assert "softmax" in ids and "train_ch3" in ids, name


@pytest.mark.slow
def test_nbgrader_runs_every_step(graded):
    assert graded["codes"] == [0, 0, 0], "\n\n".join(log[-3000:] for log in graded["logs"])


@pytest.mark.slow
def test_no_attack_earns_a_point_it_did_not(graded):
    course = graded["course"]
    problems = {}
    for name, attack in graded["cases"].items():
        code, _quiz = code_points(course, name)
        if not attack.min_code_points <= code <= attack.max_code_points:
            problems[name] = (code, attack.min_code_points, attack.max_code_points, attack.what)
    assert not problems, problems


@pytest.mark.slow
def test_the_forged_judge_of_issue_21_scores_nothing(graded):
    for name in ("forged_judge", "forged_every_judge", "patch_nbgrader"):
        assert code_points(graded["course"], name)[0] == 0, name


@pytest.mark.slow
def test_honest_students_keep_their_marks(graded):
    assert code_points(graded["course"], "alice_copy") == (34, 10)


@pytest.mark.slow
def test_nothing_secret_reaches_autograded_feedback_or_grades(graded):
    course = graded["course"]
    attackers = [
        course / part / name for part in ("autograded", "feedback") for name in graded["cases"]
    ]
    texts = _texts(*attackers) + "\n".join(graded["logs"]) + (course / "grades.csv").read_text()
    assert graded["secret"] not in texts  # a canary, the environment, the other student's notebook
    assert graded["key"][:40] not in texts


@pytest.mark.slow
def test_nothing_outside_is_written_reached_or_left_running(graded):
    assert graded["after"] == graded["before"]
    assert not graded["gradebook_pwned"]
    listener = graded["listener"]
    assert (listener.connections, listener.datagrams) == (0, 0)
    assert graded["left_behind"] == []
    assert graded["left_in_tmpdir"] == []


@pytest.mark.slow
def test_a_demo_cell_that_never_ends_is_cut_and_said_to_be(graded):
    course = graded["course"]
    for name, attack in graded["cases"].items():
        if not attack.cut:
            continue
        nb = course / "autograded" / name / ASSIGNMENT / "softmax_regression.ipynb"
        assert f"stopped after {CELL_SECONDS} s" in nb.read_text(), name
