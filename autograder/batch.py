"""Grading a class: submissions in parallel workers, results written as each finishes, resumable."""

from __future__ import annotations

import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from . import config, exports
from .grader import Submission, find_submissions, grade_submission


def resolve_device(device: str) -> str:
    """'auto' -> 'cuda' when a GPU is visible, else 'cpu'."""
    if device == "auto":
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def default_workers(device: str) -> int:
    """Parallel submissions: one per core on CPU (each worker single-threaded), up to 8 on a GPU."""
    cores = os.cpu_count() or 1
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


def grade_all(paths, out_dir, workers=None, device="auto", limits=config.LIMITS, progress=True):
    """Grade every submission in `paths` into `out_dir`; return the results (reused ones included)."""
    device = resolve_device(device)
    subs = collect(paths)
    workers = workers or default_workers(device)
    threads = max(1, (os.cpu_count() or 1) // workers) if not device.startswith("cuda") else 1
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
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
