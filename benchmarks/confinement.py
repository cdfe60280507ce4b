"""What kernel confinement and the trajectory check cost, measured side by side in one run.

(1) A worker start: fork of a process that has imported torch, the child exiting at once,
against the same fork with the child confining itself first (Landlock + seccomp + capabilities),
repeated and interleaved; the difference is what confinement adds (budget: 50 ms).
(2) The run with the grader's model: d2l's 10-epoch training run, as the grader ran before,
against the config.TRAJECTORY_EPOCHS-epoch run the trajectory check needs (the time saved per
student), both with the same model, loss and updater on the same batches.

    python benchmarks/confinement.py [--repeats 30] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from autograder import config, sandbox, units  # noqa: E402

UNIT = units.get()
"""The unit whose training the benchmark runs (config.ASSIGNMENT's: d2l's softmax regression)."""
calls, data = UNIT.calls, UNIT.data


def fork_ms(confine: bool) -> float:
    """Milliseconds from fork to the child's exit (confining first when `confine`)."""
    scratch = tempfile.mkdtemp(prefix="softmax-bench-")
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            if confine:
                sandbox.confine(scratch)
        except BaseException:  # noqa: BLE001
            code = 1
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    elapsed = (time.perf_counter() - start) * 1000
    os.rmdir(scratch)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit("the child could not confine itself")
    return elapsed


def bench_fork(repeats: int) -> dict:
    bare, confined = [], []
    for _ in range(repeats):  # interleaved, so both see the same machine load
        bare.append(fork_ms(False))
        confined.append(fork_ms(True))
    b, c = statistics.median(bare), statistics.median(confined)
    return {"fork_ms": round(b, 2), "fork_confine_ms": round(c, 2), "added_ms": round(c - b, 2),
            "repeats": repeats}  # fmt: skip


def training_seconds(epochs: int) -> float:
    """One run with the grader's model for `epochs` epochs (d2l's loop), in seconds."""
    W, b = calls.initial_parameters("cpu", config.SEED)
    net = calls.linear_net(lambda O: torch.softmax(O, dim=1), W, b)
    loss = calls.grader_loss("cpu")
    train_iter, test_iter = data.batches("cpu")
    updater = torch.optim.SGD([W, b], lr=config.LR)
    start = time.perf_counter()
    for _ in range(epochs):
        for X, y in train_iter:
            updater.zero_grad()
            loss(net(X), y).mean().backward()
            updater.step()
        with torch.no_grad():
            sum(float((net(X).argmax(1) == y).sum()) for X, y in test_iter)
    return time.perf_counter() - start


def bench_training(repeats: int) -> dict:
    full, short = [], []
    for _ in range(repeats):
        full.append(training_seconds(config.NUM_EPOCHS))
        short.append(training_seconds(config.TRAJECTORY_EPOCHS))
    f, s = statistics.median(full), statistics.median(short)
    return {"full_run_s": round(f, 3), "trajectory_run_s": round(s, 3),
            "saved_per_student_s": round(f - s, 3), "epochs": [config.NUM_EPOCHS, config.TRAJECTORY_EPOCHS]}  # fmt: skip


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=30, help="forks of each kind (default 30)")
    p.add_argument("--train-repeats", type=int, default=3, help="training runs of each kind")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1, as workers)")
    p.add_argument("--json", default=None, help="also write the numbers to this file")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    data.arrays_cpu()
    found = sandbox.require()
    res = {"landlock_abi": found["landlock_abi"], **bench_fork(args.repeats)}
    if args.train_repeats:
        res.update(bench_training(args.train_repeats))
    print(f"worker start: fork {res['fork_ms']} ms, fork + confine {res['fork_confine_ms']} ms "
          f"(confinement adds {res['added_ms']} ms; budget 50 ms; Landlock ABI {res['landlock_abi']})")  # fmt: skip
    if args.train_repeats:
        print(f"grader's-model run: {config.NUM_EPOCHS} epochs {res['full_run_s']} s, "
              f"{config.TRAJECTORY_EPOCHS} epochs {res['trajectory_run_s']} s "
              f"(saved per student: {res['saved_per_student_s']} s)")  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
