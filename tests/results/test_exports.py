"""Writing results atomically and cleaning up after a writer killed mid-write (autograder/results/exports.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from helpers.fake_units import fake_unit

from autograder import config

# A writer that creates its temporary, then stops before the rename until it is killed.
from autograder.results import exports
from autograder.units.softmax_regression import unit as softmax_unit

STUCK_WRITER = """
import os, sys, time
from autograder import config
from autograder.results import exports
os.replace = lambda *a: time.sleep(3600)
exports.atomic_write(sys.argv[1], "new text")
"""


def dead_pid() -> int:
    """The pid of a process that has exited."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_atomic_write_replaces_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "ann" / "results.json"
    exports.atomic_write(target, "one")
    exports.atomic_write(target, "two")
    assert target.read_text() == "two"
    assert [p.name for p in target.parent.iterdir()] == ["results.json"]
    assert oct(target.stat().st_mode & 0o777) != oct(0o600)  # readable by TAs, not mkstemp's 0600


def test_writer_killed_before_rename_leaves_old_file_and_a_sweepable_temporary(tmp_path):
    target = tmp_path / "ann" / "results.json"
    exports.atomic_write(target, "old text")
    proc = subprocess.Popen([sys.executable, "-c", STUCK_WRITER, str(target)])
    try:
        deadline = time.monotonic() + 60
        while not list(target.parent.glob(".results.json.*")):
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        # The live writer's temporary is not touched by a concurrent sweep.
        assert exports.sweep_partial_writes(tmp_path) == []
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert target.read_text() == "old text"
    (left,) = target.parent.glob(".results.json.*")
    assert exports.sweep_partial_writes(tmp_path) == [left]
    assert [p.name for p in target.parent.iterdir()] == ["results.json"]


def test_sweep_keeps_files_it_does_not_own(tmp_path):
    pid = dead_pid()
    mine = tmp_path / f".results.json.{os.getpid()}.abc.partial"  # a live writer (this process)
    dead = tmp_path / "bob" / f".grades.csv.{pid}.xyz.partial"
    other = tmp_path / f".notes.{pid}.txt"  # not one of ours: no .partial suffix
    plain = tmp_path / "results.json"
    for p in (mine, dead, other, plain):
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("x")
    assert exports.sweep_partial_writes(tmp_path) == [dead]
    assert mine.exists() and other.exists() and plain.exists() and not dead.exists()


def test_grading_run_sweeps_partial_writes(tmp_path):
    """grade_all starts by removing what a killed run left half-written."""
    from autograder.grading import batch

    left = tmp_path / "out" / "ann" / f".results.json.{dead_pid()}.q1.partial"
    left.parent.mkdir(parents=True)
    left.write_text('{"score": ')
    notebook = tmp_path / "submitted" / "ann" / config.ASSIGNMENT / softmax_unit.MAIN_NOTEBOOK
    notebook.parent.mkdir(parents=True)
    notebook.write_text("not a notebook")  # graded as malformed, without starting a worker
    (res,) = batch.grade_all([tmp_path / "submitted"], tmp_path / "out", progress=False)
    assert res.status == "malformed"
    assert not left.exists()
    assert exports.read_result(left.parent / "results.json").status == "malformed"
    assert (tmp_path / "out" / "grades.csv").exists()


def test_sweep_of_a_missing_folder_is_empty(tmp_path):
    assert exports.sweep_partial_writes(Path(tmp_path / "absent")) == []


def test_table_aligns_names_in_any_script():
    from autograder.checks.outcome import CheckResult, SubmissionResult

    res = [SubmissionResult(name, [CheckResult("softmax.shape", 1.0, 1.0, "passed")])
           for name in ("张三", "amy_long_name")]  # fmt: skip
    lines = exports.table(res).splitlines()
    score_columns = {exports.display_width(line.split("1/1")[0]) for line in lines if "1/1" in line}
    assert len(score_columns) == 1, lines  # the score column starts at one place on every row
    assert exports.display_width("张三") == 4 and exports.display_width("ab") == 2


# -- whatever a check or the quiz put into a result, it is written (issue 20, item 4) ---------------
def _odd_result():
    """A result holding what JSON or UTF-8 cannot: NaN in a passed check's curve, an infinite quiz
    answer, a lone surrogate in a message, and a 10 MB text."""
    from autograder.checks.outcome import CheckResult, SubmissionResult

    curve = [[1.0, 0.9, 0.7, float("nan")], [2.0, 0.6, 0.8, 0.8]]
    checks = [
        CheckResult("train_ch3.end_to_end", 7.0, 7.0, "passed", "", {"curve": curve}),
        CheckResult("quiz.q7", 0.0, 1.0, "malformed", "not finite", {"answer": float("inf")}),
        CheckResult("softmax.values", 0.0, 2.0, "error", "RuntimeError: \ud800 went wrong"),
        CheckResult("softmax.shape", 0.0, 1.0, "failed", "Got: str '" + "x" * 10_000_000 + "'"),
    ]
    return SubmissionResult("eve", checks, "ok", info={"peak": float("-inf"), 3: {1, 2}})


def test_a_result_holding_nan_infinity_and_a_lone_surrogate_is_written(tmp_path):
    path = exports.write_result(tmp_path, _odd_result())
    path.read_text(encoding="utf-8")  # UTF-8 text throughout
    back = exports.read_result(path)
    checks = {c.check_id: c for c in back.checks}
    assert [float(v) for v in checks["train_ch3.end_to_end"].details["curve"][0]][:3] == [
        1.0,
        0.9,
        0.7,
    ]
    assert (
        float(checks["train_ch3.end_to_end"].details["curve"][0][3]) != 0
    )  # nan, read back by float()
    assert float(checks["quiz.q7"].details["answer"]) == float("inf")
    assert "\\ud800 went wrong" in checks["softmax.values"].message
    checks["softmax.values"].message.encode("utf-8")  # a page can hold it
    assert back.score == 7.0 and back.info["3"]


def test_results_json_has_a_stated_maximum_size(tmp_path):
    path = exports.write_result(tmp_path, _odd_result())
    assert path.stat().st_size <= config.RESULT_MAX_BYTES
    many = _odd_result()
    many.checks = [
        type(c)(f"softmax.c{i}", 0.0, 1.0, "failed", "y" * 50_000, {"x": ["z" * 7000] * 900})
        for i, c in enumerate(many.checks * 20)
    ]
    path = exports.write_result(tmp_path, many)
    assert path.stat().st_size <= config.RESULT_MAX_BYTES
    assert exports.read_result(path).checks[0].details == {
        "dropped": "details left out: results.json would exceed its size limit"
    }


# -- the columns are the unit's of the results (#22) -------------------------------------------------
def test_the_per_function_columns_are_the_units_of_the_results(monkeypatch):
    """A class of another unit has its graded functions as columns (no quiz column without a quiz);
    a result that records no assignment (written before results did) has the softmax unit's."""
    import csv
    import io

    from autograder import units
    from autograder.checks.outcome import CheckResult, SubmissionResult

    fake_unit(monkeypatch, "fake_double", editions={"fake_double": "en", "fake_double_zh": "zh_CN"},
              GRADED_FUNCTIONS=("double", "triple"))  # fmt: skip
    checks = [CheckResult("double.values", 2.0, 2.0, "passed"), CheckResult("triple.values", 0.0, 1.0, "failed")]  # fmt: skip
    ann = SubmissionResult("ann", checks, info={"assignment": "fake_double"})
    bo = SubmissionResult(
        "bo", checks[:1], info={"assignment": "fake_double_zh"}
    )  # the other edition
    rows = list(csv.reader(io.StringIO(exports.grades_csv([ann, bo]))))
    assert rows[0] == ["student", "score", "max_score", "status", "double", "triple", *exports.LATE_COLUMNS]  # fmt: skip
    assert rows[1][4:6] == ["2", "0"] and rows[2][4:6] == ["2", "0"]
    header = exports.table([ann, bo]).splitlines()[0].split()
    assert header == ["student", "score", "status", "double", "triple", "seconds"]
    assert exports.function_scores(ann) == {"double": 2.0, "triple": 0.0}
    assert (
        exports.class_assignment([bo]) == "fake_double"
    )  # the unit's first edition names the class
    old = SubmissionResult("cy", [CheckResult("softmax.shape", 1.0, 1.0, "passed")])
    softmax = list(units.get().columns)
    assert softmax == ["softmax", "cross_entropy", "accuracy", "train_ch3", "quiz"]
    assert next(csv.reader(io.StringIO(exports.grades_csv([old]))))[4:-3] == softmax
    assert next(csv.reader(io.StringIO(exports.grades_csv([old], "fake_double"))))[4:-3] == ["double", "triple"]  # fmt: skip
