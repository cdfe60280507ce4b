"""Grading a class: submissions in parallel workers, results written as each finishes, resumable.

Each submission is graded by ``grader.grade_submission`` in a worker process forked from a warm
fork server (torch and Fashion-MNIST already loaded, see runner.context), so a submission costs a
fork (milliseconds), not an interpreter start and ``import torch`` (seconds); see
docs/benchmarks.md. ``shard=`` grades one deterministic part of the class (autograder/shards.py).
"""

from __future__ import annotations

import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from . import config, exports, shards
from .grader import Submission, find_submissions, grade_submission


def resolve_device(device: str) -> str:
    """'auto' -> 'cuda' when a GPU is visible, else 'cpu'."""
    if device == "auto":
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def available_cores() -> int:
    """Cores this process may run on (the CPU affinity mask, e.g. a container's cpuset)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def default_workers(device: str) -> int:
    """Parallel submissions: one per core on CPU (each worker single-threaded), up to 8 on a GPU."""
    cores = available_cores()
    return max(1, min(8, cores)) if device.startswith("cuda") else cores


def collect(paths) -> list[Submission]:
    """All submissions named by `paths` (duplicate student ids keep the first)."""
    seen, subs = set(), []
    for p in paths:
        for sub in find_submissions(Path(p)):
            if sub.student not in seen:
                seen.add(sub.student)
                subs.append(sub)
    return subs


def previous(out_dir: Path, sub: Submission):
    """The finished result of `sub` from an earlier run with the same files and policy, if any."""
    old = exports.read_result(Path(out_dir) / sub.student / "results.json")
    if old is not None and old.info.get("fingerprint") == sub.fingerprint():
        return old
    return None


class Progress:
    """A one-line progress display on stderr: count, last student, ETA."""

    def __init__(self, total, stream=sys.stderr):
        self.total, self.done, self.start, self.stream = total, 0, time.monotonic(), stream

    def update(self, result, reused=False):
        self.done += 1
        elapsed = time.monotonic() - self.start
        eta = elapsed / self.done * (self.total - self.done)
        tag = " (unchanged, reused)" if reused else ""
        self.stream.write(
            f"[{self.done}/{self.total}] {result.student}: {result.score:g}/{result.max_score:g} {result.status}{tag}  ETA {eta:.0f}s\n"
        )
        self.stream.flush()


def grade_all(
    paths, out_dir, workers=None, device="auto", limits=config.LIMITS, progress=True, shard=None
):
    """Grade every submission in `paths` into `out_dir`; return the results (reused ones included).

    `shard` ("i/n" or a shards.Shard) grades only that shard of the class and writes
    `out_dir`/shard.json for ``shards.merge``.
    """
    device = resolve_device(device)
    subs = collect(paths)
    if shard is not None:
        shard = shards.parse_shard(shard) if isinstance(shard, str) else shard
        subs = shards.select(subs, shard)
    workers = workers or default_workers(device)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    exports.sweep_partial_writes(out_dir)  # a run killed mid-write leaves its temporary behind
    if shard is not None:
        shards.write_manifest(out_dir, shard, [sub.student for sub in subs])
    bar = Progress(len(subs)) if progress else None
    results, todo = [], []
    for sub in subs:
        old = previous(out_dir, sub)
        if old is not None:
            results.append(old)
            if bar:
                bar.update(old, reused=True)
        else:
            todo.append(sub)
    # One torch thread per worker, also when fewer submissions than cores are left: the model is
    # tiny (784 x 10, batch 256), and on a 2-core machine a 2-thread worker graded a submission in
    # 46-59 s against 7 s single-threaded (OpenMP synchronisation per small op); see
    # docs/benchmarks.md. Parallelism comes from grading submissions side by side.
    threads = 1
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = {pool.submit(grade_submission, sub, device, threads, limits): sub for sub in todo}
        for fut in as_completed(futures):
            res = fut.result()
            exports.write_result(out_dir, res)
            results.append(res)
            if bar:
                bar.update(res)
    exports.write_grades(out_dir, results)
    return sorted(results, key=lambda r: r.student)
