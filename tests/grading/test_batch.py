"""Grading the example class from the command line (autograder/grading/batch.py, __main__.py, exports.py)."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import psutil
import pytest
from helpers.paths import EXAMPLES, ROOT

from autograder import config
from autograder.checks.outcome import CheckResult, SubmissionResult
from autograder.grading import batch, collect
from autograder.results import exports, store
from autograder.units.softmax_regression import quiz
from autograder.units.softmax_regression import unit as softmax_unit


def rows(out):
    with open(out / "grades.csv", encoding="utf-8-sig") as fh:
        return {r["student"]: r for r in csv.DictReader(fh)}


@pytest.mark.slow
def test_example_class_scores(graded_class):
    out, proc = graded_class
    grades = rows(out)
    total = (
        float(sum(softmax_unit.POINTS.values()))
        + len(quiz.QUESTIONS) * config.QUIZ.points_per_question
    )
    assert float(grades["alice_full"]["score"]) == total == float(grades["alice_full"]["max_score"])
    assert float(grades["carol_blank"]["score"]) == 0
    # A naive softmax loses exactly the stability points.
    assert (
        float(grades["bob_naive_softmax"]["softmax"])
        == 10 - softmax_unit.POINTS["softmax.stability"]
    )
    assert (
        grades["frank_builtins"]["status"] == "forbidden"
        and float(grades["frank_builtins"]["softmax"]) == 0
    )
    assert "alice_full" in proc.stdout and "grades.csv" in proc.stdout


@pytest.mark.slow
def test_results_json_follows_gradescope_schema(graded_class):
    out, _ = graded_class
    data = json.loads((out / "dave_wrong_axis" / "results.json").read_text())
    assert {"score", "max_score", "tests"} <= set(data)
    names = {t["name"] for t in data["tests"]}
    assert set(softmax_unit.POINTS) <= names
    for t in data["tests"]:
        assert {"name", "score", "max_score", "status", "output"} <= set(t)
        assert t["status"] in ("passed", "failed")
    failed = [t for t in data["tests"] if t["name"] == "softmax.values"][0]
    assert (
        failed["status"] == "failed"
        and "Expected:" in failed["output"]
        and "Hint:" in failed["output"]
    )


@pytest.mark.slow
def test_rerun_reuses_finished_results(graded_class, examples):
    out, _ = graded_class
    before = (out / "alice_full" / "results.json").stat().st_mtime_ns
    proc = subprocess.run(
        [sys.executable, "-m", "autograder", "grade", str(examples / "alice_full"), "--out", str(out)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0 and "0 to grade, 1 current" in proc.stderr
    assert (out / "alice_full" / "results.json").stat().st_mtime_ns == before


def test_missing_path_is_a_clear_error(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "autograder", "grade", str(tmp_path / "nope"), "--out", str(tmp_path / "o")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2 and "no such file or folder" in proc.stderr


# -- the results folder is the class (issue #11) ---------------------------------------------------
# Blank submissions (copies of carol_blank) are graded in seconds; the behaviour under test is the
# class bookkeeping, not the checks.
def _class(tmp_path, names, source="carol_blank"):
    subs = tmp_path / "submitted"
    for name in names:
        shutil.copytree(EXAMPLES / source, subs / name)
    return subs


def _grade(*args, env=None, timeout=300):
    device = () if "--device" in args else ("--device", "cpu")
    cmd = [sys.executable, "-m", "autograder", "grade", *map(str, args), *device, "--workers", "1"]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})  # fmt: skip


def _grade_here(monkeypatch, capsys, *args):
    """`python -m autograder grade ARGS` through the command line's main() in this process, each
    submission's grading replaced by an instant "ok" (_stub) and no fork server: the class's
    bookkeeping (plan, reuse, --only, --force, --missing, lateness, grades.csv, feedback, the
    report, messages and exit status) without a torch start per run. (exit status, stdout, stderr)"""
    from autograder import __main__ as cli
    from autograder import sandbox
    from autograder.sandbox import forkserver

    _stub(monkeypatch)
    monkeypatch.setattr(sandbox, "UNCONFINED", sandbox.UNCONFINED)  # main() sets it: restored after
    monkeypatch.setattr(forkserver, "start", lambda **kwargs: None)
    monkeypatch.setattr(forkserver, "stop", lambda: None)
    monkeypatch.setattr(batch, "check_data", lambda assignments=None: None)
    capsys.readouterr()
    code = cli.main(["grade", *map(str, args), "--device", "cpu", "--workers", "1"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _students(out):
    raw = (out / "grades.csv").read_bytes().decode("utf-8-sig")
    return sorted(r["student"] for r in csv.DictReader(io.StringIO(raw)))


def _mtime(out, student):
    return (out / store.folder_name(student) / "results.json").stat().st_mtime_ns


@pytest.mark.slow
def test_unicode_students_and_regrading_one_keeps_the_class(tmp_path, monkeypatch, capsys):
    subs = _class(tmp_path, ["张三", "李四", "a b"])
    out = tmp_path / "out"
    code, stdout, stderr = _grade_here(monkeypatch, capsys, subs, "--out", out, "--csv-bom")
    assert code == 0, stderr[-2000:]
    assert _students(out) == sorted(["张三", "李四", "a b"])
    assert (out / "张三" / "results.json").is_file() and (out / "a%20b" / "results.json").is_file()
    assert (out / "grades.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    report_html = (out / "report.html").read_text(encoding="utf-8")
    assert "张三" in report_html and "href='a%2520b/feedback.html'" in report_html
    assert "Feedback for 张三" in (out / "张三" / "feedback.html").read_text(encoding="utf-8")
    assert "张三" in stdout and "李四" in stdout

    # Regrading (or adding) one student rewrites the class files for the whole class.
    before = {s: _mtime(out, s) for s in ("张三", "李四", "a b")}
    code, _, stderr = _grade_here(monkeypatch, capsys, subs / "李四", "--out", out)
    assert code == 0, stderr[-2000:]
    assert "0 to grade, 1 current" in stderr
    assert _students(out) == sorted(["张三", "李四", "a b"])  # the old code kept 李四 alone
    assert "张三" in (out / "report.html").read_text(encoding="utf-8")
    assert (out / "grades.csv").read_bytes().startswith(b"\xef\xbb\xbf")  # the BOM choice stays

    # --only regrades the named student despite an unchanged fingerprint; the others stay.
    code, _, stderr = _grade_here(monkeypatch, capsys, subs, "--out", out, "--only", "张三")
    assert code == 0, stderr[-2000:]
    assert _mtime(out, "张三") != before["张三"]
    assert _mtime(out, "李四") == before["李四"] and _mtime(out, "a b") == before["a b"]
    assert _students(out) == sorted(["张三", "李四", "a b"])
    code, _, stderr = _grade_here(monkeypatch, capsys, subs, "--out", out, "--only", "王五")
    assert code == 2 and "王五" in stderr and "no such student" in stderr

    # --force regrades everyone.
    code, _, stderr = _grade_here(monkeypatch, capsys, subs, "--out", out, "--force")
    assert code == 0 and ": 3 to grade." in stderr and " current" not in stderr
    assert all(_mtime(out, s) != before[s] for s in ("李四", "a b"))


@pytest.mark.slow
def test_two_submissions_for_one_id_stop_before_grading(tmp_path):
    first, second = tmp_path / "one", tmp_path / "two"
    shutil.copytree(EXAMPLES / "carol_blank", first / "Alice")
    shutil.copytree(EXAMPLES / "carol_blank", second / "alice")
    out = tmp_path / "out"
    proc = _grade(first, second, "--out", out)
    assert proc.returncode == 2
    assert (
        "'Alice'" in proc.stderr and "'alice'" in proc.stderr and "two submissions" in proc.stderr
    )
    assert not list(out.glob("*/results.json"))
    with pytest.raises(collect.StudentClash):
        collect.collect([first / "Alice", first / "Alice" / config.ASSIGNMENT, second])
    assert len(collect.collect([first, first / "Alice"])) == 1  # one folder named twice: once


@pytest.mark.slow
def test_a_disappeared_submission_is_reported_then_kept_or_dropped(tmp_path, monkeypatch, capsys):
    subs = _class(tmp_path, ["amy", "ben"])
    out = tmp_path / "out"
    assert _grade_here(monkeypatch, capsys, subs, "--out", out)[0] == 0
    shutil.rmtree(subs / "ben")
    code, _, stderr = _grade_here(monkeypatch, capsys, subs, "--out", out)
    assert code == 0 and "no submission any more for ben" in stderr
    assert _students(out) == ["amy", "ben"]  # kept by default
    code, _, stderr = _grade_here(monkeypatch, capsys, subs, "--out", out, "--missing", "drop")
    assert code == 0 and "dropped" in stderr
    assert _students(out) == ["amy"]
    assert (out / ".dropped" / "ben" / "results.json").is_file()


@pytest.mark.slow
def test_two_grade_runs_into_one_folder_at_once_lose_nothing(tmp_path):
    subs = _class(tmp_path, ["amy", "ben", "cat"])
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "autograder", "grade", "--out", str(out), "--device", "cpu",
           "--workers", "1"]  # fmt: skip
    runs = [subprocess.Popen([*cmd, str(subs / name)], cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for name in ("amy", "ben", "cat")]  # fmt: skip
    for run in runs:
        _, err = run.communicate(timeout=300)
        assert run.returncode == 0, err[-2000:]
    assert _students(out) == ["amy", "ben", "cat"]
    report_html = (out / "report.html").read_text(encoding="utf-8")
    assert all(f">{name}<" in report_html for name in ("amy", "ben", "cat"))


@pytest.mark.slow
def test_lateness_from_timestamp_txt_and_due_date_without_regrading(tmp_path, monkeypatch, capsys):
    subs = _class(tmp_path, ["amy", "ben"])
    (subs / "amy" / config.ASSIGNMENT / "timestamp.txt").write_text(
        "2026-12-02 05:59:00.000000 UTC"
    )
    out = tmp_path / "out"
    code, _, stderr = _grade_here(monkeypatch, capsys, subs, "--out", out, "--due", "2026-12-02T00:00:00+00:00")  # fmt: skip
    assert code == 0, stderr[-2000:]
    grades = rows(out)
    assert grades["amy"]["late_hours"] == "5.98" and grades["amy"]["submitted_at"]
    assert grades["ben"]["late_hours"] == ""  # no timestamp.txt: unknown
    assert "after the due date" in (out / "amy" / "feedback.md").read_text(encoding="utf-8")
    data = json.loads((out / "amy" / "results.json").read_text())
    assert data["extra_data"]["info"]["late"]["late_seconds"] == 21540
    # A new due date is applied to the reused result, without grading again.
    code, _, stderr = _grade_here(monkeypatch, capsys, subs, "--out", out, "--due", "2026-12-03T00:00:00Z")  # fmt: skip
    assert code == 0 and "0 to grade, 2 current" in stderr
    assert rows(out)["amy"]["late_hours"] == "0"


def test_device_cuda_without_cuda_is_refused_before_grading(tmp_path, monkeypatch):
    subs = _class(tmp_path, ["amy"])
    out = tmp_path / "out"
    proc = _grade(subs, "--out", out, "--device", "cuda", env={"CUDA_VISIBLE_DEVICES": ""})
    assert proc.returncode == 3, proc.stderr[-2000:]
    assert "no CUDA GPU" in proc.stderr and "nothing was graded" in proc.stderr
    assert not list(out.glob("*/results.json"))
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(batch.GraderUnavailable, match="--device cuda"):
        batch.resolve_device("cuda")
    assert batch.resolve_device("auto") == "cpu"


def test_a_grader_failure_is_marked_and_never_reused(tmp_path, monkeypatch):
    subs = _class(tmp_path, ["amy"])
    out = tmp_path / "out"

    def broken(sub, *args, **kwargs):
        raise RuntimeError("CUDA error: device lost")

    monkeypatch.setattr(batch, "grade_submission", broken)
    (res,) = batch.grade_all([subs], out, device="cpu", progress=False)
    assert res.status == "grader_error" and res.grader_failed
    assert all(c.status == "grader_error" for c in res.checks)
    assert "not your result" in res.message and "device lost" in res.message
    assert rows(out)["amy"]["status"] == "grader_error"

    calls = []

    def fine(sub, *args, **kwargs):
        calls.append(sub.student)
        return SubmissionResult(sub.student, [], "ok", info={"fingerprint": sub.fingerprint()})

    monkeypatch.setattr(batch, "grade_submission", fine)
    batch.grade_all([subs], out, device="cpu", progress=False)
    assert calls == ["amy"]  # regraded by default, although its files are unchanged
    batch.grade_all([subs], out, device="cpu", progress=False)
    assert calls == ["amy"]  # a real result is reused
    assert rows(out)["amy"]["status"] == "ok"


@pytest.mark.slow
def test_kill_9_during_a_one_student_regrade_leaves_the_class_consistent(tmp_path):
    subs = _class(tmp_path, ["amy", "ben"])
    out = tmp_path / "out"
    assert _grade(subs, "--out", out).returncode == 0
    cmd = [sys.executable, "-m", "autograder", "grade", str(subs), "--out", str(out),
           "--only", "amy", "--device", "cpu", "--workers", "1"]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)  # fmt: skip
    try:
        parent = psutil.Process(proc.pid)
        deadline = time.monotonic() + 120
        while not parent.children(recursive=True) and proc.poll() is None:
            assert time.monotonic() < deadline, "the grader started no worker"
            time.sleep(0.02)
        os.killpg(proc.pid, signal.SIGKILL)  # mid-regrade: the fork server or a worker is up
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    # Whatever the kill interrupted: the class files are whole and still hold both students.
    assert _students(out) == ["amy", "ben"]
    for path in out.glob("*/results.json"):
        json.loads(path.read_text())
    # The next run finishes the regrade and the class is complete again.
    proc = _grade(subs, "--out", out, "--only", "amy")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert _students(out) == ["amy", "ben"]
    assert not list(out.rglob("*.partial"))


def test_a_missing_data_folder_is_refused_before_grading(tmp_path, monkeypatch):
    subs = _class(tmp_path, ["amy"])
    out = tmp_path / "out"
    proc = _grade(subs, "--out", out, env={"FASHION_MNIST_ROOT": str(tmp_path / "no-data")})
    assert proc.returncode == 3 and "FASHION_MNIST_ROOT" in proc.stderr
    assert not list(out.glob("*/results.json"))
    monkeypatch.setenv("FASHION_MNIST_ROOT", str(tmp_path / "no-data"))
    with pytest.raises(batch.GraderUnavailable, match="no such folder"):
        batch.check_data()


# -- start-up, progress and the out folder (issues #14, #15) --------------------------------------
def _stub(monkeypatch, graded=None):
    """Replace the grading of one submission with an instant "ok" result."""

    def fine(sub, *args, **kwargs):
        if graded is not None:
            graded.append(sub.student)
        return SubmissionResult(sub.student, [], "ok", info={"fingerprint": sub.fingerprint()})

    monkeypatch.setattr(batch, "grade_submission", fine)


def test_on_result_gets_each_result_of_the_run_once_it_is_stored(tmp_path, monkeypatch):
    """grade_all hands each result to on_result after writing its results.json, one call per
    student graded (the command line writes that student's feedback there); reused ones get none."""
    _stub(monkeypatch)
    subs = _class(tmp_path, ["amy", "ben", "cat"])
    out = tmp_path / "out"
    seen = []

    def stored(res):
        path = store.result_dir(out, res.student) / "results.json"
        seen.append((res.student, json.loads(path.read_text())["extra_data"]["status"]))

    batch.grade_all([subs], out, device="cpu", workers=2, progress=False, on_result=stored)
    assert sorted(seen) == [("amy", "ok"), ("ben", "ok"), ("cat", "ok")]
    seen.clear()
    batch.grade_all([subs], out, device="cpu", workers=2, progress=False, on_result=stored)
    assert seen == []  # nothing graded again


NO_OP = """
import sys
from multiprocessing import forkserver
from autograder.__main__ import main
rc = main(["grade", sys.argv[1], "--out", sys.argv[2], "--device", "cpu"])
heavy = ["torch", "torchvision", "autograder.units.softmax_regression.data"]
print([m for m in heavy if m in sys.modules], forkserver._forkserver._forkserver_pid)
sys.exit(rc)
"""


@pytest.mark.slow
def test_a_rerun_with_nothing_to_grade_imports_no_torch_and_starts_no_fork_server(
    tmp_path, monkeypatch
):
    """Every result current and the report newer than them: the rerun only rebuilds grades.csv."""
    from autograder.__main__ import write_outputs

    subs = _class(tmp_path, ["amy", "ben"])
    out = tmp_path / "out"
    _stub(monkeypatch)
    write_outputs(out, batch.grade_all([subs], out, device="cpu", progress=False))
    proc = subprocess.run([sys.executable, "-c", NO_OP, str(subs), str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Found 2 students" in proc.stderr and "0 to grade, 2 current" in proc.stderr
    assert "Feedback and class report are current" in proc.stdout
    assert proc.stdout.splitlines()[-1] == "[] None"  # no torch, no data, no fork server
    assert _students(out) == ["amy", "ben"]


def test_progress_eta_learns_from_the_finished_students():
    """The ETA leaves out the fork server's start-up and uses the finished students' times."""
    now = [0.0]
    stream = io.StringIO()
    bar = batch.Progress(4, workers=2, stream=stream, clock=lambda: now[0], ready_at=lambda: 8.0)
    for name in ("a", "b"):
        bar.begin(name)  # both start at 0 s; the fork server is ready at 8 s
    now[0] = 14.0
    bar.update(SubmissionResult("a", [], "ok"))
    bar.begin("c")
    now[0] = 14.5
    bar.update(SubmissionResult("b", [], "ok"))
    bar.begin("d")
    lines = stream.getvalue().splitlines()
    # 6 s per student (14 - 8), then 6.25 s; 2 and 2 students left on 2 workers: ~6 s, not the
    # 14 s x 3 left / 1 done = 42 s of an ETA that counts the start-up for every student.
    assert lines[0] == "[1/4] a: 0/0 ok  (6.0 s; ETA 6 s)"
    assert lines[1] == "[2/4] b: 0/0 ok  (6.5 s; ETA 6 s)"
    now[0] = 20.5
    bar.update(SubmissionResult("c", [], "ok"))
    now[0] = 21.0
    bar.update(SubmissionResult("d", [], "ok"))
    assert stream.getvalue().splitlines()[-1] == "[4/4] d: 0/0 ok  (6.5 s; done)"


def test_a_results_folder_holds_one_class(tmp_path, monkeypatch):
    """Grading another class folder into a results folder stops (naming both) unless --replace."""
    graded = []
    _stub(monkeypatch, graded)
    first = _class(tmp_path / "a", ["amy", "ben"])
    other = _class(tmp_path / "b", ["cat"])
    out = tmp_path / "out"
    batch.grade_all([first], out, device="cpu", progress=False)
    assert json.loads((out / "class.json").read_text())["submissions"] == [str(first.resolve())]
    batch.grade_all([first / "amy"], out, device="cpu", progress=False, force=True)  # same class
    with pytest.raises(collect.OtherClass) as err:
        batch.grade_all([other], out, device="cpu", progress=False)
    assert str(first.resolve()) in str(err.value) and str(other.resolve()) in str(err.value)
    assert "--out" in str(err.value) and "--replace" in str(err.value)
    assert _students(out) == ["amy", "ben"] and graded == ["amy", "ben", "amy"]
    proc = _grade(other, "--out", out)  # the command line: exit 2 before anything is graded
    assert proc.returncode == 2 and "holds the results of another class" in proc.stderr
    run = batch.grade_all([other], out, device="cpu", progress=False, replace=True)
    assert [r.student for r in run.class_results] == ["cat"] and run.plan.moved == ["amy", "ben"]
    assert (out / ".dropped" / "amy" / "results.json").is_file()
    assert json.loads((out / "class.json").read_text())["submissions"] == [str(other.resolve())]


def _add_cell(notebook, source, nbgrader=None):
    nb = json.loads(notebook.read_text())
    meta = {"nbgrader": nbgrader} if nbgrader else {}
    nb["cells"].append({"cell_type": "code", "metadata": meta, "outputs": [],
                        "execution_count": None, "source": [source]})  # fmt: skip
    notebook.write_text(json.dumps(nb))


@pytest.mark.slow
def test_torch_optim_is_preloaded_only_for_code_the_worker_runs_that_uses_it(tmp_path):
    """The release's own mentions (d2l's isinstance test, the visible tests' SGD) do not count;
    an optimizer built in a student's cell does, and so does one in a cell without metadata."""
    subs = _class(tmp_path, ["amy", "ben", "cat"])
    test_cell = {"grade": True, "solution": False, "grade_id": "extra_tests", "points": 0}
    _add_cell(subs / "amy" / config.ASSIGNMENT / softmax_unit.MAIN_NOTEBOOK,
              "opt = torch.optim.SGD([W], lr=0.1)\n", test_cell)  # fmt: skip
    _add_cell(subs / "ben" / config.ASSIGNMENT / softmax_unit.MAIN_NOTEBOOK,
              "def make(params):\n    return torch.optim.Adam(params)\n")  # fmt: skip
    _add_cell(subs / "cat" / config.ASSIGNMENT / softmax_unit.MAIN_NOTEBOOK,
              "from torch import optim\n")  # fmt: skip
    found = {sub.student: sub for sub in collect.collect([subs])}
    assert "torch.optim" not in collect.imported_modules([found["amy"]])
    assert "torch.optim" in collect.imported_modules([found["ben"]])
    assert "torch.optim" in collect.imported_modules([found["cat"]])


@pytest.mark.slow
def test_torchvision_is_preloaded_only_for_submissions_that_import_it(tmp_path):
    subs = _class(tmp_path, ["amy", "ben"])
    notebook = subs / "ben" / config.ASSIGNMENT / softmax_unit.MAIN_NOTEBOOK
    nb = json.loads(notebook.read_text())
    nb["cells"].append({"cell_type": "code", "metadata": {}, "outputs": [],
                        "execution_count": None, "source": ["from torchvision import transforms\n"]})  # fmt: skip
    notebook.write_text(json.dumps(nb))
    found = collect.collect([subs])
    assert "torchvision" not in collect.imported_modules(
        found[:1]
    )  # the release mentions it in text
    assert "torchvision" in collect.imported_modules(found)


@pytest.mark.slow
def test_a_late_policy_is_kept_by_every_later_run_until_changed_on_purpose(tmp_path, monkeypatch):
    """A plain rerun keeps the due date and penalty the class was graded with (class.json); a run
    that changes them says what changes and for whom before it writes (issue #23, item 1)."""

    def full(sub, *args, **kwargs):
        check = CheckResult("softmax.values", 44.0, 44.0, "passed")
        return SubmissionResult(sub.student, [check], "ok", info={"fingerprint": sub.fingerprint()})

    monkeypatch.setattr(batch, "grade_submission", full)
    subs = _class(tmp_path, ["amy", "ben"])
    (subs / "amy" / config.ASSIGNMENT / "timestamp.txt").write_text("2026-12-02 05:59:00 UTC")
    out, said = tmp_path / "out", []
    policy = config.LatePolicy(per_day=0.1)
    run = batch.grade_all([subs], out, device="cpu", progress=False, due="2026-12-01T00:00Z",
                          late_policy=policy)  # fmt: skip
    scores = {r.student: r.score for r in run.class_results}
    assert scores == {"amy": 44 - 2 * 4.4, "ben": 44}  # two started days late
    recorded = json.loads((out / "class.json").read_text())["policy"]
    assert recorded == {"due": "2026-12-01T00:00:00+00:00", "late_policy": {
        "per_day": 0.1, "max_fraction": 1.0, "grace_minutes": 0.0}}  # fmt: skip
    # The README's "rerun after a fix": no --due, no --late-penalty. Nothing changes, nothing said.
    planned = batch.plan([subs], out, notify=said.append)
    assert planned.late_policy == policy and planned.policy_changes == [] and said == []
    run = batch.grade_all([subs], out, device="cpu", progress=False, force=True)
    assert {r.student: r.score for r in run.class_results} == scores
    assert "35.2" in (out / "grades.csv").read_text()
    # A change on purpose is announced, naming the students it affects, and then recorded.
    planned = batch.plan([subs], out, due="none", notify=said.append)
    assert len(said) == 1 and "due date 2026-12-01T00:00:00+00:00 -> none" in said[0], said
    assert "amy" in said[0] and "ben" not in said[0].split("for:")[1]
    assert sorted(planned.changed) == ["amy", "ben"]  # both rewritten (the due date they record)
    assert json.loads((out / "class.json").read_text())["policy"]["due"] is None
    assert {r.student: r.score for r in store.load(out)} == {"amy": 44, "ben": 44}
    # And the command line says it too.
    proc = _grade(subs, "--out", out, "--due", "2026-12-01T00:00Z", "--late-penalty", "0.2")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "changes on purpose" in proc.stderr and "late per_day 0.1 -> 0.2" in proc.stderr
    assert "amy" in proc.stderr


@pytest.mark.slow
def test_a_first_run_says_nothing_of_reused_results_and_counts_one_student(tmp_path):
    """#23 item 11: no "0 current (results in ... reused: ...)", no "1 students"."""
    shutil.copytree(EXAMPLES / "carol_blank", tmp_path / "submitted" / "carol")
    out = tmp_path / "grades"
    planned = batch.plan([tmp_path / "submitted"], out)
    text = planned.summary([tmp_path / "submitted"], out)
    assert text == f"Found 1 student in {tmp_path / 'submitted'}: 1 to grade.", text
    assert [exports.students(n) for n in (0, 1, 2)] == ["0 students", "1 student", "2 students"]
