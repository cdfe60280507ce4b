"""Grading a class: submissions in parallel workers, results written as each finishes, resumable.

Each submission is graded by ``grader.grade_submission`` in a worker process forked from a warm
fork server (torch and Fashion-MNIST already loaded, see runner.context), so a submission costs a
fork (milliseconds), not an interpreter start and ``import torch`` (seconds); see
docs/benchmarks.md. ``shard=`` grades one deterministic part of the class (autograder/grading/shards.py).

The results folder is the class (autograder/results/store.py): a run writes its students' results, then
rebuilds grades.csv from every result in the folder, so regrading one student (``only=``) or a
late one keeps the others. A result is reused when the student's files and the grading policy are
unchanged, unless ``force`` or ``only`` asks for a regrade, or the grader failed on it
(status grader_error). Lateness (autograder/results/late.py) is recomputed for every result.
"""

from __future__ import annotations

import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from autograder import config
from autograder.checks.outcome import CheckResult, SubmissionResult
from autograder.grading import shards
from autograder.grading.collect import collect_class
from autograder.grading.grader import grade_submission
from autograder.results import exports, late, store
from autograder.submissions.submission import Submission


class GraderUnavailable(RuntimeError):
    """The grader cannot run here (no such device, no data): refused before anything is graded."""


def resolve_device(device: str) -> str:
    """'auto' -> 'cuda' when a GPU is visible, else 'cpu'; 'cuda' without a usable GPU is refused.

    Raises GraderUnavailable: grading student code on a device that is not there would record a
    crash for every student.
    """
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise GraderUnavailable(
            f"--device {device}: no CUDA GPU is usable on this machine (torch "
            f"{torch.__version__}, CUDA build {torch.version.cuda or 'none'}); grade with "
            "--device cpu or --device auto, or run on a GPU machine"
        )
    return device


def check_data() -> None:
    """Refuse to start when FASHION_MNIST_ROOT names a folder that does not exist."""
    root = os.environ.get("FASHION_MNIST_ROOT")
    if root and not Path(root).is_dir():
        raise GraderUnavailable(
            f"FASHION_MNIST_ROOT={root}: no such folder (it must hold the four Fashion-MNIST .gz "
            "files); fix or unset it"
        )


def check_confinement() -> dict:
    """Refuse to start where the kernel cannot confine student code (unless --unconfined)."""
    from autograder import sandbox

    try:
        return sandbox.check()
    except sandbox.ConfinementUnavailable as err:
        raise GraderUnavailable(str(err)) from err


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


def previous(out_dir: Path, sub: Submission):
    """The finished result of `sub` from an earlier run with the same files and policy, if any
    (never one on which the grader itself failed)."""
    old = exports.read_result(store.result_dir(out_dir, sub.student) / "results.json")
    if (
        old is not None
        and old.student == sub.student
        and old.info.get("fingerprint") == sub.fingerprint()
        and not old.grader_failed
    ):
        return old
    return None


def grader_failed_result(sub: Submission, err: BaseException, device: str) -> SubmissionResult:
    """The result of a submission whose grading raised in the grader: every check grader_error."""
    from autograder.units import get as unit_of

    quiz, REGISTRY = unit_of().quiz, unit_of().registry

    message = (f"the grader failed on this submission ({type(err).__name__}: {err}); this is not "
               "your result: your instructor will regrade it")  # fmt: skip
    ids = [c.id for c in REGISTRY] + [q.check_id for q in quiz.QUESTIONS]
    points = {
        **config.POINTS,
        **{q.check_id: config.QUIZ.points_per_question for q in quiz.QUESTIONS},
    }
    checks = [CheckResult(cid, 0.0, float(points[cid]), "grader_error", message) for cid in ids]
    result = SubmissionResult(sub.student, checks, "grader_error", message, 0.0, device)
    result.info = {"fingerprint": sub.fingerprint(), "warnings": [], "grader_error": True}
    return result


def select_only(subs: list[Submission], only) -> list[Submission]:
    """The submissions of the students named in `only` (ids); a name matching none is an error."""
    wanted = list(dict.fromkeys(only))
    ids = {sub.student for sub in subs}
    unknown = [name for name in wanted if name not in ids]
    if unknown:
        raise FileNotFoundError(
            f"--only {', '.join(unknown)}: no such student among the submissions "
            f"({len(subs)} found)"
        )
    return [sub for sub in subs if sub.student in set(wanted)]


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


class ClassRun(list):
    """The results of one run (reused ones included), plus what it found about the class."""

    gone: list[str]
    """Students with results in the folder whose submission is no longer in the class root."""
    dropped: list[str]
    """Those of them moved to DIR/.dropped/ (``missing="drop"``)."""
    class_results: list[SubmissionResult]
    """Every result in the folder after the run (what grades.csv holds)."""
    reused: list[str]
    """Students whose earlier result was reused (unchanged files and policy)."""


def grade_all(
    paths, out_dir, workers=None, device="auto", limits=config.LIMITS, progress=True, shard=None,
    force=False, only=(), due=None, late_policy=late.LATE_POLICY, missing="keep", bom=None,
):  # fmt: skip
    """Grade every submission in `paths` into `out_dir`; return this run's results (a ClassRun).

    `shard` ("i/n" or a shards.Shard) grades only that shard of the class and writes
    `out_dir`/shard.json for ``shards.merge``. `force` regrades unchanged submissions; `only`
    (student ids) grades those students only, always afresh. `due` (text) and `late_policy`: see
    late.py. `missing`: "keep" or "drop" the results of students whose submission disappeared from
    the class root given in `paths`. `bom`: grades.csv with a UTF-8 BOM (None: as it was).
    Raises GraderUnavailable (device, data), StudentClash or FileNotFoundError before grading.
    """
    if missing not in ("keep", "drop"):
        raise ValueError(f"missing={missing!r}: keep or drop")
    device = resolve_device(device)
    check_data()
    check_confinement()
    subs, whole_class = collect_class(paths)
    if shard is not None:
        shard = shards.parse_shard(shard) if isinstance(shard, str) else shard
        subs = shards.select(subs, shard)
    if only:
        subs = select_only(subs, only)
        force = True
    due_at = late.due_date(due, _gradebook_due() if due is None else None)
    workers = workers or default_workers(device)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    exports.sweep_partial_writes(out_dir)  # a run killed mid-write leaves its temporary behind
    if shard is not None:
        shards.write_manifest(out_dir, shard, [sub.student for sub in subs])
    bar = Progress(len(subs)) if progress else None
    results, todo = ClassRun(), []
    results.reused = []
    for sub in subs:
        old = None if force else previous(out_dir, sub)
        if old is not None:
            if _apply_lateness(old, sub, due_at, late_policy):
                store.write(out_dir, old)
            results.append(old)
            results.reused.append(old.student)
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
            sub = futures[fut]
            try:
                res = fut.result()
            except Exception as err:  # noqa: BLE001 - the grader's failure, not the student's
                res = grader_failed_result(sub, err, device)
            _apply_lateness(res, sub, due_at, late_policy)
            store.write(out_dir, res)
            results.append(res)
            if bar:
                bar.update(res)
    results.sort(key=lambda r: r.student)
    results.gone, results.dropped = [], []
    if whole_class and not only:
        graded = {sub.student for sub in subs}
        results.gone = sorted(
            student
            for student in store.read(out_dir)
            if student not in graded and (shard is None or shard.holds(student))
        )
        if missing == "drop":
            for student in results.gone:
                store.drop(out_dir, student)
            results.dropped = list(results.gone)
    results.class_results = store.rebuild(out_dir, bom=bom, report=False)
    return results


def _apply_lateness(result, sub: Submission, due_at, policy) -> bool:
    """Record the submission time and lateness in `result` (late.py); whether it changed."""
    submitted_at, problem = late.read_timestamp(sub.folder)
    changed = late.apply(result, submitted_at, due_at, policy)
    if problem and problem not in result.info.setdefault("warnings", []):
        result.info["warnings"].append(problem)
        changed = True
    return changed


def _gradebook_due():
    """The due date in nbgrader's gradebook, when there is one (autograder/results/gradebook.py)."""
    from autograder.results.gradebook import due_date

    return due_date()
