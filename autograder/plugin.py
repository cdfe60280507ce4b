"""pytest plugin: ``python -m pytest --submission PATH`` makes one test per student and check.

Registered through the ``pytest11`` entry point (pyproject.toml), so installing the package is
enough; without ``--submission`` it does nothing. With it, the run collects only the grading items
this module makes (never files from the students' folders: pytest would import a student's
``conftest.py`` or ``test_*.py`` into the grader's process). Each item's id names the student and
the check, its points come from the ``points`` marker, and a failure shows the student-facing
message. A submission is graded once per process (in its own sandboxed worker) and every check of
it reads that result; with pytest-xdist the checks of one student are kept on one xdist worker
(``--dist loadgroup``). Its state lives in ``config.stash``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from autograder import config

results_key = pytest.StashKey[dict]()
submissions_key = pytest.StashKey[list]()
scores_key = pytest.StashKey[dict]()


def pytest_addoption(parser):
    group = parser.getgroup("autograder", "softmax-regression autograder")
    group.addoption("--submission", action="append", default=[], metavar="PATH",
                    help="a notebook, a student's assignment folder, or nbgrader's submitted/ root (repeatable)")  # fmt: skip
    group.addoption(
        "--grader-device",
        default="auto",
        choices=("auto", "cpu", "cuda"),
        help="where student code runs",
    )
    group.addoption(
        "--grader-threads", type=int, default=1, help="torch threads per submission worker"
    )
    group.addoption(
        "--unconfined",
        action="store_true",
        help="grade even where the kernel cannot confine student code (no Landlock or seccomp); "
        "every result records it",
    )


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    config.addinivalue_line(
        "markers", "points(n): the points a grading check is worth (from its unit's unit.py)"
    )
    config.addinivalue_line("markers", "student(name): the student a grading check belongs to")
    config.stash[results_key] = {}
    config.stash[scores_key] = {}
    config.stash[submissions_key] = []
    config.pluginmanager.register(_Scores(config), "autograder-scores")
    if config.getoption("submission", default=None):
        # Collect this module only (its collector makes the grading items), whatever paths were
        # given ("pytest autograder --submission ..." still works) or testpaths name.
        config.args[:] = [str(Path(__file__).resolve())]
        from autograder import sandbox
        from autograder.grading.collect import collect

        sandbox.allow_unconfined(config.getoption("unconfined", default=False))
        try:
            sandbox.check()
            config.stash[submissions_key] = collect(config.getoption("submission"))
        except (sandbox.ConfinementUnavailable, FileNotFoundError, ValueError) as err:
            raise pytest.UsageError(f"--submission: {err}") from None
        if config.stash[submissions_key]:  # the data set, before any student is graded
            from autograder.grading import batch

            try:
                batch.check_data(batch.assignments_of(config.stash[submissions_key]))
            except batch.GraderUnavailable as err:
                raise pytest.UsageError(f"--submission: nothing was graded: {err}") from None
        # Keep each student's checks on one xdist worker, so every submission is graded once.
        dist = getattr(config.option, "dist", "no")
        if dist == "load":
            config.option.dist = "loadgroup"
        # The grading process (an xdist worker, or pytest itself when not distributed) warms up;
        # --collect-only grades nothing.
        grading = not config.getoption("collectonly", default=False)
        if (
            grading
            and config.stash[submissions_key]
            and (hasattr(config, "workerinput") or dist == "no")
        ):
            from autograder.grading import batch
            from autograder.sandbox import forkserver

            subs = config.stash[submissions_key]
            graded = batch.units_of(batch.assignments_of(subs))
            # this process grades: warm up while pytest collects, preloading what they import
            preload = forkserver.optional_preload(batch.collect.imported_modules(subs))
            forkserver.start(preload=preload, units=graded)


def check_ids(assignment=None):
    """Every graded item of `assignment`'s unit: the function checks, then the quiz questions."""
    from autograder import units

    unit = units.get(assignment)
    items = list(unit.registry.points.items())
    if unit.quiz_notebook:
        per = float(config.QUIZ.points_per_question)
        items += [(q.check_id, per) for q in unit.quiz.QUESTIONS]
    return items


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makemodule(module_path, parent):
    """This module, when collected in a grading run, is the collector of every grading item."""
    if parent.config.stash.get(submissions_key, None) and Path(module_path) == Path(__file__):
        return Submissions.from_parent(parent, path=Path(module_path))
    return None


class Submissions(pytest.File):
    """The grading items of every submission, grouped by student, in grading order."""

    def collect(self):
        for sub in self.config.stash[submissions_key]:
            # The student's node id is the student alone, so that a check's id (what -v and the
            # JUnit XML show) is ``student::check``, not this file's path.
            yield Student.from_parent(self, name=sub.student, nodeid=sub.student, sub=sub)


class Student(pytest.Collector):
    """One student's checks: one item per check and quiz question."""

    def __init__(self, *, sub, **kwargs):
        super().__init__(**kwargs)
        self.sub = sub

    def collect(self):
        for cid, points in check_ids(self.sub.assignment):
            item = GradingCheck.from_parent(
                self, name=cid, sub=self.sub, check_id=cid, points=points
            )
            item.add_marker(pytest.mark.points(points))
            item.add_marker(pytest.mark.student(self.sub.student))
            item.add_marker(pytest.mark.xdist_group(self.sub.student))
            yield item


class CheckFailed(Exception):
    """A check that did not pass: its message is the student-facing one, with no traceback."""


class GradingCheck(pytest.Item):
    """One check of one student: passes with full points, else fails with the check's message."""

    def __init__(self, *, sub, check_id: str, points: float, **kwargs):
        super().__init__(**kwargs)
        self.sub, self.check_id, self.points = sub, check_id, points

    def runtest(self):
        result = graded(self.config, self.sub)
        check = next((c for c in result.checks if c.check_id == self.check_id), None)
        if check is None:
            raise CheckFailed(f"{self.check_id} was not graded for {self.sub.student}")
        self.user_properties += [("student", self.sub.student), ("check", self.check_id),
                                 ("score", check.score), ("max_score", check.max_score),
                                 ("status", check.status), ("submission_status", result.status),
                                 ("seconds", round(result.seconds, 3))]  # fmt: skip
        if not check.passed:
            raise CheckFailed(
                f"[{check.status}] {check.score:g}/{check.max_score:g} points\n{check.message}"
            )

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, CheckFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        return self.path, None, f"{self.sub.student}: {self.check_id}"


def graded(config, sub):
    """The SubmissionResult of `sub`, graded on first use in this process."""
    from autograder.grading.batch import resolve_device
    from autograder.grading.grader import grade_submission

    cache = config.stash[results_key]
    if sub.student not in cache:
        device = resolve_device(config.getoption("grader_device"))
        cache[sub.student] = grade_submission(
            sub, device=device, threads=config.getoption("grader_threads")
        )
    return cache[sub.student]


class _Scores:
    """Collects each check's result (from user_properties) for the summary, on the controller too
    (pytest_runtest_logreport gets no config: this object holds it, its state is in config.stash)."""

    def __init__(self, config):
        self.config = config

    def pytest_runtest_logreport(self, report):
        props = dict(report.user_properties)
        if report.when == "call" and "student" in props:
            from autograder.checks.outcome import CheckResult, SubmissionResult

            per = self.config.stash[scores_key]
            student = props["student"]
            result = per.setdefault(student, SubmissionResult(student=student, checks=[]))
            result.status = props.get("submission_status", result.status)
            result.seconds = float(props.get("seconds", result.seconds))
            check = CheckResult(props["check"], float(props["score"]),
                                float(props["max_score"]), props["status"])  # fmt: skip
            result.checks.append(check)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter, config):
    """One line per student with the score, as ``grade`` prints it, after pytest's own summary."""
    try:
        return (yield)
    finally:
        results = list(config.stash.get(scores_key, {}).values())
        if results:
            from autograder.results.exports import table

            terminalreporter.section("grades")
            for line in table(results).splitlines():
                terminalreporter.write_line(line)
            graded = [r for r in results if len(r.checks) == len(check_ids())]
            if len(graded) < len(results):
                terminalreporter.write_line(
                    f"({len(results) - len(graded)} of {len(results)} students with only the "
                    "selected checks: their scores count those alone)"
                )


def pytest_unconfigure(config):
    """Grading is over: stop the fork server and its workers, remove the run's temp folders."""
    if config.stash.get(submissions_key, None):
        from autograder.sandbox import forkserver

        forkserver.stop()
