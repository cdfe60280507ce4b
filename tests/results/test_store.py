"""The results folder as the class: safe reversible folder names, reading, rebuilding under a lock
(autograder/results/store.py)."""

from __future__ import annotations

import csv
import io
import json
import re
import threading

import pytest

from autograder.checks.outcome import CheckResult, SubmissionResult
from autograder.results import exports, store

NAMES = [
    "alice_full", "张三", "李四", "李四_mixed", "Zoë", "Zoe\u0308", "O'Brien", "a b", "a/b", "a\\b",
    "..", ".hidden", "trailing.", "x.y", "%41", "A", "con", "Ünïcödé-名前", "😀", "tab\tname",
    "José María", "ﬁ", "١٢٣", "",
]  # fmt: skip
"""Student ids (folder names as nbgrader keeps them) that must map to distinct safe file names."""

SAFE = re.compile(r"^[\w%.-]+$")


def result(student, score=1.0, status="ok"):
    checks = [CheckResult("softmax.shape", score, 1.0, "passed" if score else "failed")]
    return SubmissionResult(student, checks, status, info={"fingerprint": "f"})


@pytest.mark.parametrize("name", NAMES)
def test_folder_names_are_safe_and_reversible(name):
    folder = store.folder_name(name)
    assert SAFE.match(folder), folder
    assert folder not in (".", "..") and not folder.startswith(".") and not folder.endswith(".")
    assert "/" not in folder and "\\" not in folder
    assert store.student_of(folder) == name


def test_folder_names_are_collision_free():
    folders = [store.folder_name(n) for n in NAMES]
    assert len(set(folders)) == len(NAMES)


def test_the_old_sanitiser_collided():
    """The id rule this replaces mapped 张三 and 李四 (and a/b, a b) to one id: a student lost."""
    old = lambda name: re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "student"  # noqa: E731
    assert old("张三") == old("李四") == "student" and old("a/b") == old("a b")
    assert store.folder_name("张三") != store.folder_name("李四")


def test_readable_names_stay_readable():
    assert store.folder_name("张三") == "张三"
    assert store.folder_name("李四_mixed") == "李四_mixed"
    assert store.folder_name("alice_full") == "alice_full"
    assert store.folder_name("a b") == "a%20b"


def test_clash_keys_catch_case_and_unicode_forms():
    assert store.clash_key("Alice") == store.clash_key("alice")
    assert store.clash_key("Zoë") == store.clash_key("Zoe\u0308")
    assert store.clash_key("张三") != store.clash_key("李四")


def test_results_are_written_and_read_under_the_folder_name(tmp_path):
    for name in ("张三", "a/b", ".hidden"):
        path = store.write(tmp_path, result(name))
        assert path.parent == tmp_path / store.folder_name(name)
    found = store.read(tmp_path)
    assert set(found) == {"张三", "a/b", ".hidden"}
    assert [r.student for r in store.load(tmp_path)] == sorted(found)


def test_strict_reading_names_the_problem(tmp_path):
    store.write(tmp_path, result("amy"))
    (tmp_path / "bob").mkdir()
    (tmp_path / "bob" / "results.json").write_text("{not json")
    assert set(store.read(tmp_path)) == {"amy"}  # lenient: skipped
    with pytest.raises(store.StoreError, match="bob.*unreadable"):
        store.read(tmp_path, strict=True)
    (tmp_path / "bob" / "results.json").unlink()
    moved = tmp_path / "carl"
    (tmp_path / "amy").rename(moved)
    with pytest.raises(store.StoreError, match="holds student 'amy', not 'carl'"):
        store.read(tmp_path, strict=True)
    with pytest.raises(store.StoreError, match="no such results folder"):
        store.read(tmp_path / "nope", strict=True)


def test_rebuild_covers_every_result_in_the_folder(tmp_path):
    for name in ("amy", "张三", "李四"):
        store.write(tmp_path, result(name))
    rebuilt = store.rebuild(tmp_path, report=False)
    assert [r.student for r in rebuilt] == sorted(["amy", "张三", "李四"])
    rows = list(csv.DictReader(io.StringIO((tmp_path / "grades.csv").read_text("utf-8"))))
    assert sorted(r["student"] for r in rows) == sorted(["amy", "张三", "李四"])


def test_grades_csv_with_a_bom_for_excel_and_kept_on_rebuild(tmp_path):
    store.write(tmp_path, result("张三"))
    store.rebuild(tmp_path, bom=True, report=False)
    raw = (tmp_path / "grades.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0]["student"] == "张三"  # the first column's name is not "\ufeffstudent"
    store.rebuild(tmp_path, report=False)  # bom=None: as it was
    assert (tmp_path / "grades.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    store.rebuild(tmp_path, bom=False, report=False)
    assert (tmp_path / "grades.csv").read_bytes().startswith(b"student,")


def test_drop_moves_results_out_of_the_class(tmp_path):
    store.write(tmp_path, result("amy"))
    store.write(tmp_path, result("张三"))
    target = store.drop(tmp_path, "张三")
    assert json.loads((target / "results.json").read_text())["extra_data"]["student"] == "张三"
    assert [r.student for r in store.rebuild(tmp_path, report=False)] == ["amy"]


def test_concurrent_rebuilds_lose_nothing(tmp_path, monkeypatch):
    """Run A reads the folder, then run B writes a result and rebuilds, then A writes grades.csv.

    Without the lock A's stale table (no ben) would be written last; with it B's rebuild waits for
    A's, and the last grades.csv has both students.
    """
    store.write(tmp_path, result("amy"))
    a_has_read, let_a_write = threading.Event(), threading.Event()
    real_load = store.load

    def slow_load(out_dir):
        found = real_load(out_dir)
        if threading.current_thread().name == "run-a":
            a_has_read.set()
            let_a_write.wait(30)
        return found

    monkeypatch.setattr(store, "load", slow_load)
    run_a = threading.Thread(target=store.rebuild, args=(tmp_path,), kwargs={"report": False},
                             name="run-a")  # fmt: skip
    run_a.start()
    assert a_has_read.wait(30)
    store.write(tmp_path, result("ben"))
    run_b = threading.Thread(target=store.rebuild, args=(tmp_path,), kwargs={"report": False})
    run_b.start()
    run_b.join(1.0)  # with the lock B is still waiting here; without it B has finished
    let_a_write.set()
    run_a.join(30)
    run_b.join(30)
    rows = list(csv.DictReader(io.StringIO((tmp_path / "grades.csv").read_text("utf-8"))))
    assert sorted(r["student"] for r in rows) == ["amy", "ben"]


def test_report_and_shards_read_through_the_store(tmp_path):
    from autograder.grading import shards
    from autograder.results import report

    store.write(tmp_path, result("张三"))
    assert [r.student for r in report.load_results(tmp_path)] == ["张三"]
    assert list(shards.read_folder(tmp_path)) == ["张三"]
    assert exports.read_result(tmp_path / "张三" / "results.json").student == "张三"


# -- one student's failure to write never stops the others (issue 20, item 4) -------------------------
def test_a_result_that_fails_to_write_is_recorded_as_grader_error_and_the_class_goes_on(
    tmp_path, monkeypatch
):
    from pathlib import Path

    from autograder.grading import batch
    from autograder.submissions.submission import Submission

    subs = [Submission(s, tmp_path / s, Path("/nonexistent/a.ipynb"), Path("/nonexistent/q.ipynb"))
            for s in ("ann", "bad", "zed")]  # fmt: skip

    def grade(sub, device, threads, limits):
        res = result(sub.student)
        if sub.student == "bad":
            res.checks[0].details = {"unwritable": float("nan"), "why": "\ud800"}
            res.info["odd"] = object.__new__(type("Unjsonable", (), {"__repr__": _raises}))
        return res

    monkeypatch.setattr(batch, "grade_submission", grade, raising=False)
    real_write = store.write

    def flaky_write(out_dir, res):
        if res.student == "zed" and res.status != "grader_error":
            raise OSError("disk hiccup")
        return real_write(out_dir, res)

    monkeypatch.setattr(store, "write", flaky_write)
    planned = type("P", (), {"due_at": None, "late_policy": batch.config.LATE_POLICY})()
    done = batch._grade(subs, tmp_path, "cpu", 1, batch.config.LIMITS, planned, None)
    found = store.read(tmp_path)
    assert sorted(found) == ["ann", "bad", "zed"]
    assert found["ann"].status == "ok" and found["bad"].status == "ok"
    assert found["zed"].status == "grader_error" and "disk hiccup" in found["zed"].message
    assert len(done) == 3


def _raises(self):
    raise RuntimeError("no repr")
