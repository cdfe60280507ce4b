"""A quick smoke run of benchmarks/grading.py at tiny sizes (the real numbers: docs/benchmarks.md)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest
from conftest import ROOT

SCRIPT = ROOT / "benchmarks" / "grading.py"


def load():
    spec = importlib.util.spec_from_file_location("bench_grading", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_compare_totals():
    bench = load()
    ours = {"a": 44.0, "b": 42.0, "c": 0.0}
    theirs = {"a": 44.0, "b": 40.0}
    assert bench.compare(ours, theirs, ["a", "b", "c"]) == {"b": (42.0, 40.0), "c": (0.0, None)}


def test_generated_class_cycles_the_examples(tmp_path, examples):
    bench = load()
    course, students = bench.make_course(tmp_path, 8)
    kinds = sorted(p.name for p in examples.iterdir() if p.is_dir())
    assert list(students.values()) == [kinds[k % len(kinds)] for k in range(8)]
    for name in students:
        assert (
            course / "submitted" / name / "softmax_regression" / "softmax_regression.ipynb"
        ).is_file()
    assert (course / "nbgrader_config.py").is_file()
    assert (course / "source" / "softmax_regression" / "softmax_regression.ipynb").is_file()


@pytest.mark.slow
def test_smoke(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--subset", "1024", "--epochs", "1", "--repeats", "1",
         "--num-workers", "0", "--class-size", "2", "--skip-nbgrader", "--device", "cpu",
         "--json", str(out)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    for heading in ("(a) seconds per training epoch", "(b) one submission", "(c) a class of 2"):
        assert heading in proc.stdout, proc.stdout
    res = json.loads(out.read_text())
    assert res["machine"]["nproc"] >= 1 and res["device"] == "cpu"
    p = res["pipeline"]
    assert p["examples"] == 1024 and p["num_workers"] == 0
    assert p["ratio"] == pytest.approx(p["dataloader_s_per_epoch"] / p["tensorbatches_s_per_epoch"])
    one = res["one"]
    assert 0 < one["fork_server_process_s"] < one["import_torch_s"]
    assert one["floor_s"] == pytest.approx(one["import_torch_s"] + one["train_10_epochs_s"])
    klass = res["klass"]
    assert klass["class_size"] == 2 and "nbgrader_s" not in klass
    assert 0 < klass["peak_rss_max_gb"] < 3
