"""A quick smoke run of benchmarks/grading.py at tiny sizes (the real numbers: docs/benchmarks.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from helpers.loading import load_module
from helpers.paths import ROOT

SCRIPT = ROOT / "benchmarks" / "grading.py"


def load():
    return load_module(SCRIPT, "bench_grading")


def test_compare_totals():
    bench = load()
    ours = {"a": 44.0, "b": 42.0, "c": 0.0}
    theirs = {"a": 44.0, "b": 40.0}
    assert bench.compare(ours, theirs, ["a", "b", "c"]) == {"b": (42.0, 40.0), "c": (0.0, None)}


def test_generated_class_cycles_the_examples(tmp_path, examples):
    bench = load()
    course, students = bench.make_course(tmp_path, 8)
    kinds = sorted(p.name for p in examples.iterdir() if (p / "softmax_regression").is_dir())
    assert list(students.values()) == [kinds[k % len(kinds)] for k in range(8)]
    for name in students:
        assert (
            course / "submitted" / name / "softmax_regression" / "softmax_regression.ipynb"
        ).is_file()
    assert (course / "nbgrader_config.py").is_file()
    assert (course / "source" / "softmax_regression" / "softmax_regression.ipynb").is_file()


def test_train_ch3_epoch_trains_and_counts_like_d2l():
    """The timed d2l epoch really trains, sums every example, and evaluates on the test batches."""
    import torch

    bench = load()
    gen = torch.Generator().manual_seed(0)
    y = torch.randint(0, 10, (300,), generator=gen)
    X = torch.zeros(300, 784)
    X[torch.arange(300), y] = 1.0  # learnable: pixel y is lit for class y
    X = X.reshape(300, 1, 28, 28)
    train = [(X[i : min(i + 64, 200)], y[i : min(i + 64, 200)]) for i in range(0, 200, 64)]
    test = [(X[200:], y[200:])]
    W, b = bench.new_params("cpu")
    W0 = W.detach().clone()
    losses = []
    for _ in range(3):
        (loss_sum, correct, seen), test_acc = bench.train_ch3_epoch(train, test, W, b, "cpu")
        assert seen == 200 and 0 <= correct <= 200 and 0 <= test_acc <= 1
        losses.append(loss_sum)
    assert not torch.equal(W.detach(), W0) and losses[-1] < losses[0]
    logits = X[200:].reshape(100, -1) @ W.detach() + b.detach()
    assert test_acc == pytest.approx(float((logits.argmax(dim=1) == y[200:]).sum()) / 100)
    assert (
        bench.d2l_accuracy(torch.tensor([[0.1, 0.3, 0.6], [0.3, 0.2, 0.5]]), torch.tensor([0, 2]))
        == 1.0
    )


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
    assert p["test_examples"] == 1024
    assert p["train_ch3_ratio"] == pytest.approx(
        p["dataloader_s_per_train_ch3_epoch"] / p["tensorbatches_s_per_train_ch3_epoch"]
    )
    assert p["tensorbatches_s_per_train_ch3_epoch"] > p["tensorbatches_s_per_epoch"] * 0.5
    one = res["one"]
    assert 0 < one["fork_server_process_s"] < one["import_torch_s"]
    assert one["floor_s"] == pytest.approx(one["import_torch_s"] + one["train_10_epochs_s"])
    klass = res["klass"]
    assert klass["class_size"] == 2 and "nbgrader_s" not in klass
    assert 0 < klass["peak_rss_max_gb"] < 3


def test_confinement_benchmark_runs(tmp_path):
    """benchmarks/confinement.py measures fork against fork + confine (numbers: docs/benchmarks.md)."""
    out = tmp_path / "conf.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "confinement.py"), "--repeats", "2",
         "--train-repeats", "0", "--json", str(out)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    res = json.loads(out.read_text())
    assert res["landlock_abi"] >= 1 and res["fork_confine_ms"] > 0
    assert "confinement adds" in proc.stdout


@pytest.mark.slow
def test_coldstart_benchmark_runs(tmp_path):
    """benchmarks/coldstart.py times the floor, a cold `grade` and a no-op rerun side by side, and
    says on how many cores (numbers: docs/benchmarks.md)."""
    out = tmp_path / "cold.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "coldstart.py"), "--repeats", "1",
         "--json", str(out)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    res = json.loads(out.read_text())
    assert res["cores"] == len(os.sched_getaffinity(0))
    assert set(res["median_s"]) == {"floor", "this_cold", "this_noop"}
    assert res["this_cold_over_floor"] == res["median_s"]["this_cold"] / res["median_s"]["floor"]
    assert "this_cold_over_floor" in proc.stdout and "cores" in proc.stdout
