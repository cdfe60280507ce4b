"""Sharded grading (autograder/grading/shards.py): a stable --shard i/n split and merging shard folders."""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.checks.outcome import CheckResult, SubmissionResult
from autograder.grading import batch, shards
from autograder.results import exports, store

STUDENTS = [f"student_{k:03d}" for k in range(200)]


class Sub:
    def __init__(self, student):
        self.student = student


def result(student, score=1.0, fingerprint="fp", status="passed"):
    checks = [CheckResult("softmax.shape", score, 1.0, status, ""),
              CheckResult("softmax.values", 2.0, 2.0, "passed", "")]  # fmt: skip
    return SubmissionResult(student, checks, "ok", "", 1.0, "cpu", {"fingerprint": fingerprint})


def shard_folder(tmp_path: Path, shard: str, results, manifest=True) -> Path:
    """A folder as grade --shard writes it: <student>/results.json, grades.csv, shard.json."""
    folder = tmp_path / f"shard-{shard.replace('/', '-of-')}"
    folder.mkdir()
    for r in results:
        exports.write_result(folder, r)
        (store.result_dir(folder, r.student) / "feedback.md").write_text(f"feedback of {r.student}")
    exports.write_grades(folder, results)
    if manifest:
        shards.write_manifest(folder, shards.parse_shard(shard), [r.student for r in results])
    return folder


def split(students, n):
    return {i: [s for s in students if shards.Shard(i, n).holds(s)] for i in range(1, n + 1)}


def test_parse_shard():
    assert shards.parse_shard("2/4") == shards.Shard(2, 4)
    assert str(shards.parse_shard(" 1/1 ")) == "1/1"
    for bad in ("0/4", "5/4", "1/0", "2", "a/b", "1/2/3", "-1/2"):
        with pytest.raises(shards.ShardError):
            shards.parse_shard(bad)


def test_every_student_in_exactly_one_shard_and_balanced():
    for n in (1, 2, 3, 7):
        parts = split(STUDENTS, n)
        assert sorted(s for part in parts.values() for s in part) == sorted(STUDENTS)
        if n > 1:  # a hash split of 200 ids: no shard is empty or holds most of the class
            assert all(0.4 * 200 / n <= len(p) <= 1.6 * 200 / n for p in parts.values()), parts


def test_split_is_stable():
    # Fixed values: the split may not depend on Python's hash seed, the order or the machine.
    names = ("alice_full", "bob_naive_softmax", "carol_blank", "dave_wrong_axis")
    assert [shards.bucket(s, 4) for s in names] == [0, 3, 2, 3]
    assert [shards.bucket(s, 1000) for s in names[::2]] == [124, 362]
    code = "from autograder.grading import shards; print([shards.bucket(f's{k}', 5) for k in range(20)])"
    runs = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            env={"PYTHONHASHSEED": seed, "PATH": ""},
            check=True,
        ).stdout  # fmt: skip
        for seed in ("1", "2")
    }
    assert len(runs) == 1
    assert runs.pop().strip() == str([shards.bucket(f"s{k}", 5) for k in range(20)])
    # A student keeps their shard when the class changes.
    subs = [Sub(s) for s in STUDENTS]
    fewer = [Sub(s) for s in STUDENTS[::3]]
    kept = {s.student for s in shards.select(subs, "2/3")}
    assert {s.student for s in shards.select(fewer, "2/3")} == kept & {s.student for s in fewer}
    assert [s.student for s in shards.select(list(reversed(subs)), "2/3")] == sorted(
        kept, reverse=True
    )


def test_merge_combines_shards(tmp_path):
    parts = split(STUDENTS[:20], 3)
    folders = [
        shard_folder(tmp_path, f"{i}/3", [result(s, score=(k % 2)) for k, s in enumerate(part)])
        for i, part in parts.items()
    ]
    out = tmp_path / "merged"
    merged = shards.merge(folders, out)
    assert [r.student for r in merged] == sorted(STUDENTS[:20])
    with open(out / "grades.csv") as fh:
        rows = {r["student"]: r for r in csv.DictReader(fh)}
    assert set(rows) == set(STUDENTS[:20])
    for student in STUDENTS[:20]:
        assert exports.read_result(out / student / "results.json") is not None
        assert (out / student / "feedback.md").read_text() == f"feedback of {student}"
    # Merging again (same shards into the merged folder) changes nothing.
    before = (out / "grades.csv").read_text()
    shards.merge(folders, out)
    assert (out / "grades.csv").read_text() == before


def test_merge_refuses_conflicting_duplicates(tmp_path):
    a = shard_folder(tmp_path, "1/2", [result("ann"), result("bob")], manifest=False)
    b = shard_folder(tmp_path, "2/2", [result("bob", score=0.0), result("cid")], manifest=False)
    out = tmp_path / "merged"
    with pytest.raises(
        shards.ShardError,
        match=r"(?s)conflicting results.*bob: .*shard-1-of-2 has 3/3.*shard-2-of-2 has 2/3",
    ):
        shards.merge([a, b], out)
    assert not out.exists(), "a refused merge writes nothing"
    # The same student graded the same way twice (a rerun, another machine) is not a conflict.
    c = tmp_path / "again"
    c.mkdir()
    again = result("bob")
    again.seconds = 99.0
    exports.write_result(c, again)
    assert [r.student for r in shards.merge([a, c], out)] == ["ann", "bob"]
    # Same scores but other submission files (another fingerprint) is a conflict.
    d = tmp_path / "other-files"
    d.mkdir()
    exports.write_result(d, result("ann", fingerprint="changed"))
    with pytest.raises(shards.ShardError, match="ann.*fingerprint fp.*fingerprint changed"):
        shards.merge([a, d], tmp_path / "merged2")


def test_merge_checks_the_manifests(tmp_path):
    parts = split(STUDENTS[:12], 3)
    folders = {i: shard_folder(tmp_path, f"{i}/3", [result(s) for s in part])
               for i, part in parts.items()}  # fmt: skip
    with pytest.raises(shards.ShardError, match="shard\\(s\\) 3/3 missing"):
        shards.merge([folders[1], folders[2]], tmp_path / "m1")
    assert len(shards.merge([folders[1], folders[2]], tmp_path / "m2", allow_incomplete=True)) == (
        len(parts[1]) + len(parts[2])
    )
    lost = parts[2][0]
    (folders[2] / lost / "results.json").unlink()
    with pytest.raises(shards.ShardError, match=f"no results for {lost}"):
        shards.merge(list(folders.values()), tmp_path / "m3")
    with pytest.raises(shards.ShardError, match="appears twice"):
        shards.merge([folders[1], folders[1], folders[3]], tmp_path / "m4")


def test_merge_rejects_unreadable_results(tmp_path):
    a = shard_folder(tmp_path, "1/1", [result("ann")], manifest=False)
    (a / "ann" / "results.json").write_text("{not json")
    with pytest.raises(shards.ShardError, match="unreadable"):
        shards.merge([a], tmp_path / "out")
    with pytest.raises(shards.ShardError, match="no such results folder"):
        shards.merge([tmp_path / "nope"], tmp_path / "out")


def test_command_line(tmp_path, examples):
    run = [sys.executable, "-m", "autograder.grading.shards"]
    listed = {}
    for i in (1, 2):
        proc = subprocess.run([*run, "list", str(examples), "--shard", f"{i}/2"],
                              capture_output=True, text=True, check=True)  # fmt: skip
        listed[i] = proc.stdout.split()
    everyone = sorted(p.name for p in examples.iterdir() if p.is_dir())
    assert sorted(listed[1] + listed[2]) == everyone
    bad = subprocess.run([*run, "list", str(examples), "--shard", "3/2"], capture_output=True, text=True)  # fmt: skip
    assert bad.returncode == 2 and "1 <= i <= n" in bad.stderr
    a = shard_folder(tmp_path, "1/2", [result("ann")], manifest=False)
    b = shard_folder(tmp_path, "2/2", [result("ann", score=0.0)], manifest=False)
    proc = subprocess.run([*run, "merge", "--out", str(tmp_path / "m"), str(a), str(b)],
                          capture_output=True, text=True)  # fmt: skip
    assert proc.returncode == 2 and "conflicting results" in proc.stderr
    proc = subprocess.run([*run, "merge", "--out", str(tmp_path / "m"), str(a)],
                          capture_output=True, text=True)  # fmt: skip
    assert proc.returncode == 0 and "merged 1 student from" in proc.stdout
    assert f"python -m autograder report {tmp_path / 'm'}" in proc.stdout  # how to get the report


def test_argparse_helpers():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    grade = sub.add_parser("grade")
    shards.add_shard_argument(grade)
    shards.add_merge_parser(sub)
    assert parser.parse_args(["grade", "--shard", "3/8"]).shard == shards.Shard(3, 8)
    args = parser.parse_args(["merge", "--out", "o", "a", "b"])
    assert args.folders == ["a", "b"] and args.out == "o" and not args.allow_incomplete


def test_grade_all_grades_only_its_shard(tmp_path, examples, monkeypatch):
    """batch.grade_all(shard=...) grades the shard's students and writes shard.json (stubbed grading)."""
    graded = []

    def fake_grade(sub, device, threads, limits):
        graded.append(sub.student)
        r = result(sub.student, fingerprint=sub.fingerprint())
        return r

    monkeypatch.setattr(batch, "grade_submission", fake_grade)
    outs = []
    for i in (1, 2, 3):
        out = tmp_path / f"out{i}"
        batch.grade_all([examples], out, workers=2, device="cpu", progress=False, shard=f"{i}/3")
        manifest = json.loads((out / "shard.json").read_text())
        assert manifest["shard"] == f"{i}/3"
        assert sorted(manifest["students"]) == sorted(
            p.parent.name for p in out.glob("*/results.json")
        )
        outs.append(out)
    everyone = sorted(p.name for p in examples.iterdir() if p.is_dir())
    assert sorted(graded) == everyone
    merged = shards.merge(outs, tmp_path / "all")
    assert [r.student for r in merged] == everyone
    # The merged folder records the class folder of its shards (one class per results folder).
    assert json.loads((tmp_path / "all" / "class.json").read_text()) == {
        "submissions": [str(examples.resolve())]
    }


def test_an_empty_shard_says_so_in_a_sentence(tmp_path, examples):
    """A shard that gets no student: a sentence, no empty table, shard.json for merge; no torch."""
    students = sorted(p.name for p in examples.iterdir() if p.is_dir())
    count = 4 * len(students)
    empty = next(i for i in range(1, count + 1) if not split(students, count)[i])
    out = tmp_path / "shard"
    code = (
        "import sys; from autograder.__main__ import main; "
        f"rc = main(['grade', {str(examples)!r}, '--out', {str(out)!r}, '--shard', "
        f"'{empty}/{count}', '--device', 'cpu']); print('torch' in sys.modules); sys.exit(rc)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"shard {empty}/{count} got no student" in proc.stderr
    assert "score" not in proc.stdout and f"No results in {out} yet" in proc.stdout
    assert proc.stdout.splitlines()[-1] == "False"  # nothing to grade: torch was never imported
    assert json.loads((out / "shard.json").read_text())["students"] == []


def test_merge_keeps_unicode_students_in_their_own_folders(tmp_path):
    names = ["张三", "李四", "a b"]
    parts = split(names, 2)
    folders = [shard_folder(tmp_path, f"{i}/2", [result(s) for s in parts[i]]) for i in (1, 2)]
    merged = shards.merge(folders, tmp_path / "merged")
    assert sorted(r.student for r in merged) == sorted(names)
    assert (tmp_path / "merged" / "a%20b" / "results.json").is_file()
    with open(tmp_path / "merged" / "grades.csv", encoding="utf-8-sig") as fh:
        assert sorted(r["student"] for r in csv.DictReader(fh)) == sorted(names)
