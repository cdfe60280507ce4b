"""Start-up of `grade`, side by side in fresh processes: one cold submission and a no-op rerun.

Each repeat runs, one after another (so that a busy machine slows all of them alike):

- the floor: a fresh ``python`` that imports torch and trains d2l's softmax regression for
  ``config.NUM_EPOCHS`` epochs on the grader's batches (one torch thread, as a grading worker);
  the floor is the import plus the training, as the process measures them (issue #14 item 7);
- ``python -m autograder grade <student> --out <new folder> --no-report`` from this checkout
  (and from ``--baseline DIR``, another checkout such as ``git worktree add /tmp/base <commit>``);
- the same command again into the same folder: a no-op rerun (nothing to regrade).

It prints the medians and the ratios cold / floor and this checkout / baseline, and the cores it
ran on: the floor uses one, a cold `grade` as many as it may (its training runs start side by
side when cores are spare, sandbox/runner.py). ``taskset -c 0`` measures a one-core machine.

    python benchmarks/coldstart.py --repeats 3
    python benchmarks/coldstart.py --repeats 3 --baseline /tmp/base --json cold.json
    taskset -c 0 python benchmarks/coldstart.py --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

FLOOR = """
import sys, time
t0 = time.perf_counter()
import torch
t_import = time.perf_counter() - t0
torch.set_num_threads(1)
sys.path.insert(0, sys.argv[1])
from autograder import config, units
train_iter, _ = units.get().data.batches("cpu")
W = torch.normal(0, 0.01, size=(784, 10), requires_grad=True)
b = torch.zeros(10, requires_grad=True)
t1 = time.perf_counter()
for _ in range(config.NUM_EPOCHS):
    for X, y in train_iter:
        O = X.reshape(-1, 784) @ W + b
        E = torch.exp(O - O.max(1, keepdim=True).values)
        P = E / E.sum(1, keepdim=True)
        l = -torch.log(P[range(len(y)), y])
        l.sum().backward()
        with torch.no_grad():
            for p in (W, b):
                p -= config.LR * p.grad / len(y)
                p.grad.zero_()
print(t_import, time.perf_counter() - t1)
"""
"""A fresh process: seconds for `import torch` and for the 10-epoch training (data read excluded)."""


def seconds(cmd, cwd) -> float:
    """Wall-clock seconds of `cmd` in a fresh process (it must succeed)."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, cmd))} failed:\n{proc.stderr[-3000:]}")
    return time.perf_counter() - start


def floor_seconds() -> float:
    """import torch + 10 epochs, as measured inside one fresh process."""
    proc = subprocess.run([sys.executable, "-c", FLOOR, str(REPO)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"the floor run failed:\n{proc.stderr[-3000:]}")
    t_import, t_train = map(float, proc.stdout.split())
    return t_import + t_train


def grade(checkout: Path, student: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "autograder", "grade", str(student), "--out", str(out),
            "--no-report", "--device", "cpu"]  # fmt: skip


def measure(args) -> dict:
    """Interleaved repeats; lists of seconds per measurement."""
    checkouts = {"this": REPO, **({"baseline": args.baseline} if args.baseline else {})}
    times: dict[str, list[float]] = {"floor": []}
    with tempfile.TemporaryDirectory(prefix="softmax-cold-") as tmp:
        for k in range(args.repeats):
            times["floor"].append(floor_seconds())
            for name, checkout in checkouts.items():
                out = Path(tmp) / f"{name}-{k}"
                cmd = grade(checkout, args.student, out)
                times.setdefault(f"{name}_cold", []).append(seconds(cmd, checkout))
                times.setdefault(f"{name}_noop", []).append(seconds(cmd, checkout))
                shutil.rmtree(out, ignore_errors=True)
            print(f"repeat {k + 1}: " + ", ".join(f"{n} {v[-1]:.2f} s" for n, v in times.items()),
                  flush=True)  # fmt: skip
    return times


def report(times: dict) -> dict:
    """Medians and the ratios the targets are stated in."""
    med = {name: statistics.median(values) for name, values in times.items()}
    res = {"median_s": med, "runs_s": times, "cores": len(os.sched_getaffinity(0))}
    res["this_cold_over_floor"] = med["this_cold"] / med["floor"]
    if "baseline_cold" in med:
        res["baseline_cold_over_floor"] = med["baseline_cold"] / med["floor"]
        res["this_over_baseline_cold"] = med["this_cold"] / med["baseline_cold"]
        res["this_over_baseline_noop"] = med["this_noop"] / med["baseline_noop"]
    return res


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3, help="interleaved repeats (median)")
    p.add_argument("--student", type=Path, default=REPO / "examples" / "submitted" / "alice_full",
                   help="the submission graded (default: examples/submitted/alice_full)")  # fmt: skip
    p.add_argument("--baseline", type=Path, default=None,
                   help="another checkout of the grader, timed alongside")  # fmt: skip
    p.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    args = p.parse_args(argv)
    args.student = args.student.resolve()
    res = report(measure(args))
    print(f"{'cores':>14}: {res['cores']}")
    for name, value in res["median_s"].items():
        print(f"{name:>14}: median {value:6.2f} s")
    for key in ("this_cold_over_floor", "baseline_cold_over_floor", "this_over_baseline_cold",
                "this_over_baseline_noop"):  # fmt: skip
        if key in res:
            print(f"{key:>26}: {res[key]:.2f}")
    if args.json:
        args.json.write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
