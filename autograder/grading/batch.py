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
One results folder holds one class (``collect.claim``: DIR/class.json).

``plan`` finds all of this without torch, the fork server or the data set, so a rerun with nothing
to regrade costs a second; the grader (and torch) is imported only when something is graded.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from autograder import config
from autograder.checks.outcome import CheckResult, SubmissionResult
from autograder.grading import collect, shards
from autograder.results import exports, late, repository, store
from autograder.sandbox.limits import available_cores
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


def check_data(assignments=None) -> None:
    """Refuse to start when FASHION_MNIST_ROOT names a folder that does not exist, or when a data
    set the checks of `assignments` (nbgrader assignments, default config.ASSIGNMENT) need is
    missing (require_data): no student gets a result for the grader's own missing input. Imports
    torch: call it only with work to do."""
    root = os.environ.get("FASHION_MNIST_ROOT")
    if root and not Path(root).is_dir():
        raise GraderUnavailable(
            f"FASHION_MNIST_ROOT={root}: no such folder (it must hold the four Fashion-MNIST .gz "
            "files); fix or unset it"
        )
    require_data(assignments)


def require_data(assignments=None) -> None:
    """Each unit of `assignments` (default config.ASSIGNMENT) checks its data set
    (``data.require_data()``, which raises the unit's ``data.DataMissingError``); a unit without
    one needs nothing. Raises GraderUnavailable with the unit's message."""
    for unit in units_of(assignments):
        data = unit.optional("data")
        require = getattr(data, "require_data", None)
        if require is None:
            continue
        try:
            require()
        except getattr(data, "DataMissingError", ()) as err:
            raise GraderUnavailable(str(err)) from None


def assignments_of(subs) -> list[str]:
    """The nbgrader assignments of the submissions `subs`, each once, in order."""
    return list(dict.fromkeys(sub.assignment for sub in subs))


def units_of(assignments=None) -> list:
    """The units (autograder.units.Unit) grading `assignments` (default config.ASSIGNMENT), each
    once, in order."""
    from autograder import units

    return list(dict.fromkeys(units.get(a) for a in (assignments or [config.ASSIGNMENT])))


def check_confinement() -> dict:
    """Refuse to start where the kernel cannot confine student code (unless --unconfined)."""
    from autograder import sandbox

    try:
        return sandbox.check()
    except sandbox.ConfinementUnavailable as err:
        raise GraderUnavailable(str(err)) from err


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
    from autograder import units

    unit = units.get(sub.assignment)
    questions = unit.quiz.QUESTIONS if unit.quiz_notebook else ()
    error = exports.writable_text(f"{type(err).__name__}: {err}", 400)
    message = (f"the grader failed on this submission ({error}); this is not "
               "your result: your instructor will regrade it")  # fmt: skip
    ids = [c.id for c in unit.registry] + [q.check_id for q in questions]
    points = {
        **unit.points,
        **{q.check_id: config.QUIZ.points_per_question for q in questions},
    }
    checks = [CheckResult(cid, 0.0, float(points[cid]), "grader_error", message) for cid in ids]
    result = SubmissionResult(sub.student, checks, "grader_error", message, 0.0, device)
    result.info = {"fingerprint": sub.fingerprint(), "warnings": [], "grader_error": True,
                   "assignment": sub.assignment}  # fmt: skip
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


def __getattr__(name):
    """grade_submission is imported on first use: planning a run never imports torch."""
    if name == "grade_submission":
        from autograder.grading.grader import grade_submission

        globals()["grade_submission"] = grade_submission
        return grade_submission
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _grade_submission():
    """The grading function (tests may replace batch.grade_submission)."""
    return sys.modules[__name__].grade_submission


class Progress:
    """Progress on stderr: what the run found at once, then one line per graded student with an
    ETA learned from the students finished so far.

    The time per student is the mean over finished students of (finish - start), where a
    student's start is when its worker could begin: not before the fork server was ready
    (`ready_at()`, a time.monotonic value or None), so the one-off start-up is not counted per
    student. ETA = (unfinished x time per student - the running students' time so far) / the
    workers they share; none is given before the first student finishes.
    """

    def __init__(self, total, workers=1, stream=None, clock=time.monotonic, ready_at=None):
        # sys.stderr as it is now (default None), not as it was when this module was imported
        self.total, self.workers, self.clock = total, max(1, workers), clock
        self.stream = stream or sys.stderr
        self.ready_at = ready_at or (lambda: None)
        self.start = clock()
        self.started: dict[str, float] = {}
        self.durations: list[float] = []
        self.done = 0

    def say(self, line):
        self.stream.write(line + "\n")
        self.stream.flush()

    def begin(self, student):
        """`student`'s grading starts now (called from the worker thread)."""
        self.started[student] = self.clock()

    def _effective_start(self, student):
        ready = self.ready_at()
        began = self.started.get(student, self.start)
        return max(began, ready) if ready is not None else began

    def eta(self) -> float | None:
        """Seconds left, or None before any student has finished."""
        if not self.durations:
            return None
        per = sum(self.durations) / len(self.durations)
        left = self.total - self.done
        if left <= 0:
            return 0.0
        now = self.clock()
        running = [min(per, max(0.0, now - self._effective_start(s))) for s in self.started]
        return max(0.0, (left * per - sum(running)) / min(self.workers, left))

    def update(self, result):
        """`result` is finished: print its line with the ETA."""
        now = self.clock()
        began = self._effective_start(result.student)
        self.started.pop(result.student, None)
        self.durations.append(max(0.0, now - began))
        self.done += 1
        eta = self.eta()
        tail = "done" if self.done == self.total else f"ETA {eta:.0f} s"
        self.say(
            f"[{self.done}/{self.total}] {result.student}: {result.score:g}/{result.max_score:g} "
            f"{result.status}  ({now - began:.1f} s; {tail})"
        )


class Plan:
    """What a run will do, found without grading anything (no torch, no fork server, no data)."""

    subs: list[Submission]
    """The submissions of this run (after --shard and --only)."""
    found: int
    """Submissions found in the paths (before --shard and --only)."""
    todo: list[Submission]
    """Those to grade now."""
    reused: list[SubmissionResult]
    """Earlier results kept (files and policy unchanged); their lateness recomputed."""
    changed: list[str]
    """Students among the reused whose result changed (lateness), rewritten."""
    whole_class: bool
    """The paths include the whole class folder(s) the results folder records."""
    shard: shards.Shard | None
    moved: list[str]
    """Students of another class moved to DIR/.dropped/ by replace=True."""

    def summary(self, paths, out_dir) -> str:
        """One sentence: what was found, what is graded, what is current."""
        where = ", ".join(str(p) for p in paths)
        found = f"{exports.students(self.found)} in {where}"
        if self.shard is not None:
            found += f"; shard {self.shard} holds {len(self.subs)} of them"
        if self.shard is not None and not self.subs:
            return (
                f"Found {found}: shard {self.shard} got no student (the split goes by a hash of "
                f"the student id), so there is nothing to grade; {Path(out_dir) / shards.MANIFEST} "
                "records the empty shard for merge."
            )
        current = len(self.reused)
        moved = (
            f" The results of the other class ({exports.students(len(self.moved))}) were moved to "
            f"{Path(out_dir) / store.DROPPED}/ (--replace)."
            if self.moved
            else ""
        )
        reused = (
            f", {current} current (results in {out_dir} reused: files and grading policy unchanged)"
            if current
            else ""
        )
        return f"Found {found}: {len(self.todo)} to grade{reused}.{moved}"


NO_DUE_DATE = ("none", "no", "off")
"""--due values that remove the due date on purpose."""


def _policy_record(due_at, policy) -> dict:
    """A grading policy as class.json records it (collect.recorded_policy)."""
    return {
        "due": due_at.isoformat(timespec="seconds") if due_at else None,
        "late_policy": dataclasses.asdict(policy),
    }


def resolve_policy(out_dir, due=None, late_policy=None):
    """(due date, late policy, what changes) for a run into `out_dir`.

    A grading decision is kept: `due` (text; "none" removes the due date) and `late_policy` given
    by the caller win; what they leave as None is what DIR/class.json recorded from the class's
    earlier runs, and only without a record config.DUE_DATE / nbgrader's gradebook and
    config.LATE_POLICY. The changes are sentences naming each recorded value a given one replaces.
    """
    recorded = collect.recorded_policy(out_dir) if Path(out_dir).is_dir() else None
    if due is not None and str(due).strip().lower() in NO_DUE_DATE:
        due_at = None
    elif due is not None:
        due_at = late.due_date(due)
    elif recorded is not None:
        due_at = late.parse_time(recorded["due"]) if recorded["due"] else None
    else:
        due_at = late.due_date(None, _gradebook_due())
    if late_policy is None:
        late_policy = (
            config.LatePolicy(**recorded["late_policy"]) if recorded else config.LATE_POLICY
        )
    changes = []
    if recorded is not None:
        new = _policy_record(due_at, late_policy)
        if new["due"] != recorded["due"]:
            changes.append(f"due date {recorded['due'] or 'none'} -> {new['due'] or 'none'}")
        for key, value in new["late_policy"].items():
            if value != recorded["late_policy"][key]:
                changes.append(f"late {key} {recorded['late_policy'][key]:g} -> {value:g}")
    return due_at, late_policy, changes


def plan(
    paths, out_dir, shard=None, force=False, only=(), due=None, late_policy=None, replace=False,
    notify=None, assignment=None,
):  # fmt: skip
    """Find the submissions, claim `out_dir` for their class, and split them into those to grade
    and those whose results are current (lateness recomputed and rewritten). Imports no torch.

    `due` and `late_policy`: resolve_policy (None: as the class was graded before). A run that
    changes the recorded policy says so through `notify` (default: standard error), naming the
    students whose lateness or penalty changes, before anything is written; the new policy is
    recorded in DIR/class.json. `assignment`: grade that assignment's unit where a student's
    folder holds several (collect.find_submissions). Raises StudentClash, OtherClass or FileNotFoundError before
    anything is graded.
    """
    notify = notify or (lambda text: print(text, file=sys.stderr))
    subs, whole_class, roots = collect.collect_with_roots(paths, assignment)
    result = Plan()
    result.found = len(subs)
    if shard is not None:
        shard = shards.parse_shard(shard) if isinstance(shard, str) else shard
        subs = shards.select(subs, shard)
    if only:
        subs = select_only(subs, only)
        force = True
    out_dir = Path(out_dir)
    due_at, late_policy, changes = resolve_policy(out_dir, due, late_policy)
    every_folder, result.moved = collect.claim(out_dir, roots, replace=replace)
    out_dir.mkdir(parents=True, exist_ok=True)
    exports.sweep_partial_writes(out_dir)  # a run killed mid-write leaves its temporary behind
    if shard is not None:
        shards.write_manifest(out_dir, shard, [sub.student for sub in subs])
    result.subs, result.shard, result.whole_class = subs, shard, whole_class and every_folder
    result.todo, result.reused, result.changed = [], [], []
    changed, affected = [], []
    for sub in subs:
        old = None if force else previous(out_dir, sub)
        if old is None:
            result.todo.append(sub)
            continue
        before = _lateness(old)
        if _apply_lateness(old, sub, due_at, late_policy):
            changed.append(old)
            if _lateness(old) != before:
                affected.append(old.student)
        result.reused.append(old)
    if changes:  # said before anything is written
        whom = ", ".join(affected) or "no student graded so far"
        notify(
            f"The grading policy of {out_dir} changes on purpose: {'; '.join(changes)}. "
            f"Lateness or penalty changes for: {whom}; students graded in this run get the new "
            "policy. It is kept for later runs (class.json)."
        )
    for old in changed:
        store.write(out_dir, old)
        result.changed.append(old.student)
    collect.record_policy(out_dir, _policy_record(due_at, late_policy))
    result.due_at, result.late_policy, result.policy_changes = due_at, late_policy, changes
    return result


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
    force=False, only=(), due=None, late_policy=None, missing="keep", bom=None,
    replace=False, planned=None, on_result=None,
):  # fmt: skip
    """Grade every submission in `paths` into `out_dir`; return this run's results (a ClassRun).

    `shard` ("i/n" or a shards.Shard) grades only that shard of the class and writes
    `out_dir`/shard.json for ``shards.merge``. `force` regrades unchanged submissions; `only`
    (student ids) grades those students only, always afresh. `due` (text) and `late_policy`: see
    resolve_policy (None: as the class was graded before, kept in class.json). `missing`: "keep" or "drop" the results of students whose submission disappeared from
    the class root given in `paths`. `bom`: grades.csv with a UTF-8 BOM (None: as it was).
    `replace`: `out_dir` may hold another class; its results move to `out_dir`/.dropped/.
    `planned`: the Plan of these arguments when the caller made it already (``plan``).
    `on_result`: called with each result of this run once it is stored, while the others are
    still graded (the command line writes feedback there); its errors are the caller's.
    Raises GraderUnavailable (device, data), StudentClash, OtherClass or FileNotFoundError before
    grading. With nothing to grade it imports no torch and starts no worker.
    """
    if missing not in ("keep", "drop"):
        raise ValueError(f"missing={missing!r}: keep or drop")
    check_confinement()
    if planned is None:
        planned = plan(paths, out_dir, shard=shard, force=force, only=only, due=due,
                       late_policy=late_policy, replace=replace)  # fmt: skip
    if planned.todo:
        check_data(assignments_of(planned.todo))
    out_dir = Path(out_dir)
    results = ClassRun(planned.reused)
    results.reused = [r.student for r in planned.reused]
    results.plan = planned
    if progress:  # at once: resolving the device below imports torch (seconds)
        sys.stderr.write(planned.summary(paths, out_dir) + "\n")
        sys.stderr.flush()
    if planned.todo:
        device = resolve_device(device)
        workers = workers or default_workers(device)
        bar = Progress(len(planned.todo), workers, ready_at=_forkserver_ready) if progress else None
        results += _grade(planned.todo, out_dir, device, workers, limits, planned, bar, on_result)
    results.sort(key=lambda r: r.student)
    results.gone, results.dropped = [], []
    if planned.whole_class and not only:
        graded = {sub.student for sub in planned.subs}
        results.gone = sorted(
            student
            for student in store.read(out_dir)
            if student not in graded and (planned.shard is None or planned.shard.holds(student))
        )
        if missing == "drop":
            for student in results.gone:
                store.drop(out_dir, student)
            results.dropped = list(results.gone)
    results.class_results = store.rebuild(out_dir, bom=bom, report=False)
    return results


def _grade(todo, out_dir, device, workers, limits, planned, bar, on_result=None):
    """Grade `todo` in parallel, writing each result as it finishes (then `on_result` of it);
    return the results."""
    grade = _grade_submission()
    # One torch thread per worker, also when fewer submissions than cores are left: the model is
    # tiny (784 x 10, batch 256), and on a 2-core machine a 2-thread worker graded a submission in
    # 46-59 s against 7 s single-threaded (OpenMP synchronisation per small op); see
    # docs/benchmarks.md. Parallelism comes from grading submissions side by side.
    threads = 1

    def run(sub):
        if bar:
            bar.begin(sub.student)
        return grade(sub, device, threads, limits)

    done = []
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = {pool.submit(run, sub): sub for sub in todo}
        for fut in as_completed(futures):
            sub = futures[fut]
            try:
                res = fut.result()
                _apply_lateness(res, sub, planned.due_at, planned.late_policy)
                store.write(out_dir, res)
            except Exception as err:  # noqa: BLE001 - the grader's failure, not the student's
                res = _record_failure(out_dir, sub, err, device)
            done.append(res)
            if bar:
                bar.update(res)
            if on_result:
                on_result(res)
    return done


def _record_failure(out_dir, sub: Submission, err: BaseException, device: str) -> SubmissionResult:
    """Write the grader_error result of a submission the grader failed on (grading it, or writing
    its result): one student's failure never stops the others."""
    res = grader_failed_result(sub, err, device)
    try:
        store.write(out_dir, res)
    except Exception as again:  # noqa: BLE001 - e.g. a student id no file name can hold
        res.info["warnings"].append(f"its results.json could not be written: {again!r}"[:400])
    return res


def _forkserver_ready():
    """When the fork server could first fork (time.monotonic), if forkserver.start() ran."""
    from autograder.sandbox import forkserver

    return forkserver.ready_at()


def outputs_current(out_dir) -> bool:
    """Whether DIR/report.html and every student's feedback.html are newer than every result."""
    out_dir = Path(out_dir)
    report = out_dir / "report.html"
    if not report.is_file():
        return False
    newest = 0
    for result in out_dir.glob("*/results.json"):
        stamp = result.stat().st_mtime_ns
        feedback = result.parent / "feedback.html"
        if not feedback.is_file() or feedback.stat().st_mtime_ns < stamp:
            return False
        newest = max(newest, stamp)
    return report.stat().st_mtime_ns >= newest


def _apply_lateness(result, sub: Submission, due_at, policy) -> bool:
    """Record the submission time and lateness in `result` (late.py), and the repository the
    submission was collected from (repository.py, GitHub Classroom); whether it changed."""
    submitted_at, problem = late.read_timestamp(sub.folder)
    changed = late.apply(result, submitted_at, due_at, policy)
    changed = repository.apply(result, sub.folder) or changed
    if problem and problem not in result.info.setdefault("warnings", []):
        result.info["warnings"].append(problem)
        changed = True
    return changed


def _lateness(result) -> tuple:
    """(late seconds, penalty) of `result`: what a change of policy changes for its student."""
    late_info = result.info.get("late") or {}
    return late_info.get("late_seconds"), late_info.get("penalty")


def _gradebook_due():
    """The due date in nbgrader's gradebook, when there is one (autograder/results/gradebook.py)."""
    from autograder.results.gradebook import due_date

    return due_date()
