"""nbgrader's own autograde path, graded by the confined grader: preprocessors for nbgrader_config.py.

``nbgrader autograde`` runs two lists of preprocessors on each notebook: ``sanitize_preprocessors``
(clear outputs, put the read-only cells back from the gradebook) and ``autograde_preprocessors``
(execute, then save the grades that ``nbgrader.utils.determine_grade`` reads from each test cell's
outputs). This course's nbgrader_config.py swaps two of them:

- ``Execute`` becomes ``ConfinedGrade``: the notebook is graded with the same sandboxed workers,
  checks and judging as ``python -m autograder grade`` (every judgement in this process, student
  code only in confined workers), and each graded cell's verdict is written as the outputs
  nbgrader reads: full points, no output; partial credit, an ``execute_result`` number; none, an
  ``error`` whose text is the student-facing message of feedback.html, in the edition's language.
  The student's own outputs (prints, the training curve, images) come from running the notebook in
  the confined kernel (sandbox/kernel.py); what happens there earns and costs nothing. The hidden
  test cells call nothing, so no judge, reference or key is ever needed where student code runs.
- ``OverwriteCells`` becomes ``QuietOverwriteCells``: a student copy of a test cell lacks its
  hidden block by design, which nbgrader reports as a changed checksum for every test cell of
  every student; only real changes are reported.
"""

from __future__ import annotations

import atexit
import copy
import csv
import glob
import logging
import os
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from nbformat import NotebookNode, write
from nbgrader import utils
from nbgrader.plugins.export import CsvExportPlugin
from nbgrader.preprocessors import NbGraderPreprocessor, OverwriteCells
from nbgrader.preprocessors.clearhiddentests import ClearHiddenTests
from traitlets import Bool, Integer, Unicode

from autograder import config, i18n, sandbox
from autograder.checks.outcome import CheckResult
from autograder.i18n import _
from autograder.results.gradebook import grade_cell_id

UNCONFINED_ENV = "SOFTMAX_UNCONFINED"
"""Set to 1 to grade where the kernel cannot confine student code (every notebook then says so)."""


class NbgraderPathError(RuntimeError):
    """The nbgrader path cannot grade here (no confinement, no data): nothing is graded."""


def cell_verdicts(results: list[CheckResult]) -> dict[str, tuple[float, float, list[str]]]:
    """grade_id -> (score, max score, messages of the checks that lost points), summed per cell."""
    cells: dict[str, tuple[float, float, list[str]]] = {}
    for res in results:
        score, top, messages = cells.get(grade_cell_id(res.check_id), (0.0, 0.0, []))
        if res.score < res.max_score:
            messages = [*messages, f"[{res.check_id}] {res.status}: {res.message}".rstrip()]
        cells[grade_cell_id(res.check_id)] = (score + res.score, top + res.max_score, messages)
    return cells


def verdict_outputs(score: float, points: float, messages: list[str]) -> list[NotebookNode]:
    """The outputs nbgrader reads as `score` of `points` (nbgrader.utils.determine_grade)."""
    text = "\n\n".join(messages)
    if score >= points:
        return []
    if score > 0:
        return [
            NotebookNode(output_type="stream", name="stdout", text=text + "\n"),
            NotebookNode(
                output_type="execute_result",
                execution_count=None,
                metadata={},
                data={"text/plain": repr(round(float(score), 6))},
            ),
        ]
    return [
        NotebookNode(
            output_type="error",
            ename="AssertionError",
            evalue=text,
            traceback=text.splitlines() or [""],
        )
    ]


def grade_notebook(nb: NotebookNode, assignment: str, notebook: str, device: str) -> list:
    """The CheckResults of notebook `notebook` (nbgrader's name, without .ipynb: the unit's graded
    notebook or its quiz; any other earns nothing) of a submission to `assignment`, graded from
    `nb` exactly as ``python -m autograder grade`` grades that file."""
    from autograder.grading import grader
    from autograder.units import get as unit_of

    unit = unit_of(assignment)
    with tempfile.TemporaryDirectory(prefix="softmax-nbgrader-") as tmp:
        path = Path(tmp) / f"{notebook}.ipynb"
        with open(path, "w", encoding="utf-8") as fh:
            write(nb, fh)
        lang = i18n.language_for(config.EDITIONS.get(assignment), path)
        with i18n.use(lang):
            if f"{notebook}.ipynb" == unit.quiz_notebook:
                return unit.quiz.grade_quiz(path)
            if f"{notebook}.ipynb" == unit.main_notebook:
                results, _info = grader.grade_function_checks(
                    path, device=device, assignment=assignment
                )
                return results
    return []


def check_ready(assignment: str | None = None, notebooks=None) -> dict:
    """What confines student code here; NbgraderPathError when the kernel cannot and the
    instructor has not opted in to unconfined grading (SOFTMAX_UNCONFINED=1), or when the data
    `assignment`'s unit needs is missing. `notebooks`: the main notebooks this run may grade; the
    fork server then preloads only the optional modules they import, as ``python -m autograder
    grade`` does (None: all of them, forkserver.PRELOAD)."""
    from autograder.grading import batch

    sandbox.allow_unconfined(os.environ.get(UNCONFINED_ENV, "") not in ("", "0"))
    assignments = [assignment] if assignment in config.UNITS else None
    try:
        found = batch.check_confinement()
        batch.check_data(assignments)
    except batch.GraderUnavailable as err:
        raise NbgraderPathError(
            f"the grader cannot run here, nothing was graded: {err} (for nbgrader: set "
            f"{UNCONFINED_ENV}=1 instead of --unconfined)"
        ) from err
    from autograder.sandbox import forkserver

    # once per nbgrader run: torch, the data and the grader's own runs load (a later call only
    # prepares a unit not prepared yet)
    preload = None  # (a later start() keeps the first call's preload)
    if notebooks is not None:
        preload = forkserver.optional_preload(batch.collect.notebook_imports(notebooks))
    forkserver.start(preload=preload, units=batch.units_of(assignments))
    return found


class ConfinedGrade(NbGraderPreprocessor):
    """Grade a notebook with the confined grader and write each test cell's verdict as its outputs."""

    display = Bool(
        True,
        help="Run the notebook in the confined kernel (softmax-confined) first, so the student's "
        "own outputs appear in the autograded notebook and the feedback (they earn nothing).",
    ).tag(config=True)
    timeout = Integer(
        int(config.LIMITS.submission_seconds),
        help="Seconds one cell may run in the confined kernel before it is stopped.",
    ).tag(config=True)
    display_seconds = Integer(
        900,
        help="Seconds the whole notebook may run in the confined kernel; later cells are not run.",
    ).tag(config=True)
    device = Unicode("auto", help="Where graded student code runs: auto, cpu or cuda.").tag(
        config=True
    )

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        """Grade `nb`, optionally show the student's outputs, then write the verdicts."""
        meta = resources["nbgrader"]
        assignment, notebook = meta["assignment"], meta["notebook"]
        if assignment not in config.UNITS:  # its test cells would earn points unrun
            raise NbgraderPathError(
                f"assignment {assignment!r} has no unit in this grader (config.UNITS lists "
                f"{', '.join(sorted(config.UNITS))}); nothing was graded"
            )
        if self.display and self._executing():
            from autograder.sandbox import warmkernel

            warmkernel.ensure_running()  # its imports load beside the grader's own
        found = check_ready(assignment, self._class_notebooks(assignment))
        from autograder.grading import batch

        device = batch.resolve_device(self.device)  # 'auto': cuda when a GPU is usable
        start = time.monotonic()
        with ThreadPoolExecutor(1, thread_name_prefix="softmax-display") as pool:
            # The kernel shows the student's outputs on one core while the grader's workers grade.
            shown = None
            if self.display and self._executing():
                shown = pool.submit(self._display, copy.deepcopy(nb), resources)
            results = grade_notebook(nb, assignment, notebook, device)
            self.log.info(
                "graded %s by the confined grader in %.1f s", notebook, time.monotonic() - start
            )
            nb = shown.result() if shown else nb
        verdicts = cell_verdicts(results)
        for cell in nb.cells:
            if not (utils.is_grade(cell) and cell.cell_type == "code") or utils.is_solution(cell):
                continue
            gid = cell.metadata["nbgrader"]["grade_id"]
            if gid in verdicts:
                score, top, messages = verdicts[gid]
                points = float(cell.metadata["nbgrader"]["points"])
                cell.outputs = verdict_outputs(
                    score * points / top if top else 0.0, points, messages
                )
            elif float(cell.metadata["nbgrader"].get("points", 0)):
                with i18n.use(i18n.language_for(config.EDITIONS.get(assignment))):
                    why = _("this test cell has no check in the grader; ask your instructor")
                cell.outputs = verdict_outputs(0.0, 1.0, [why])
        if found.get("missing"):
            nb.cells.insert(0, _unconfined_note(found, assignment))
        return nb, resources

    def _class_notebooks(self, assignment: str) -> list[Path] | None:
        """The main notebooks of `assignment` in nbgrader's submitted/ folder (its CourseDirectory:
        root, directory structure, --student), computed once per run: what this run may grade.
        None where they cannot be listed (the fork server then preloads everything)."""
        from autograder.sandbox import forkserver
        from autograder.units import get as unit_of

        if forkserver.started():
            return None
        try:
            from nbgrader.coursedir import CourseDirectory

            course = CourseDirectory(config=self.config)
            folders = os.path.join(glob.escape(course.root), course.directory_structure.format(
                nbgrader_step=glob.escape(course.submitted_directory),
                student_id=course.student_id or "*", assignment_id=glob.escape(assignment)))  # fmt: skip
            main = unit_of(assignment).main_notebook
            return [Path(folder) / main for folder in sorted(glob.glob(folders))] or None
        except Exception as err:  # noqa: BLE001 - only how fast the fork server starts depends on it
            self.log.debug("the submitted notebooks were not listed: %s", err)
            return None

    def _executing(self) -> bool:
        """False under ``nbgrader autograde --no-execute`` (it disables Execute): grade, show nothing."""
        return self.config.get("Execute", {}).get("enabled", True) is not False

    def _display(self, nb: NotebookNode, resources: dict) -> NotebookNode:
        """`nb` (a copy) run in the confined kernel; unchanged if the kernel cannot start here."""
        from autograder.sandbox import kernel

        cwd = resources.get("metadata", {}).get("path") or os.getcwd()
        _kernel_data(resources["nbgrader"]["assignment"])
        try:
            shown, notes = kernel.execute(
                nb, cwd=cwd, timeout=self.timeout, total=self.display_seconds
            )
        except sandbox.ConfinementUnavailable as err:
            self.log.error("the confined kernel cannot start here: %s", err)
            return nb
        for note in notes:
            self.log.warning("%s: %s", resources["nbgrader"].get("student", "?"), note)
        return shown


_KERNEL_DATA: dict[str, dict[str, str]] = {}


def _kernel_data(assignment: str) -> None:
    """Once per unit and nbgrader run: the unit's data prepared for the display kernels (read
    only: added to SOFTMAX_KERNEL_READ) in a folder removed at exit, when the unit offers it."""
    from autograder.sandbox import kernel
    from autograder.units import get as unit_of

    unit = unit_of(assignment)
    if unit.name in _KERNEL_DATA or not hasattr(unit.data, "prepare_kernel_data"):
        return
    folder = tempfile.mkdtemp(prefix="softmax-kernel-data-")
    atexit.register(shutil.rmtree, folder, True)
    try:  # in this process: the unit extracts its files without importing torchvision
        variables = dict(unit.data.prepare_kernel_data(folder))
    except Exception as err:  # noqa: BLE001 - the kernels then read the data themselves, more slowly
        logging.getLogger(__name__).warning("the display kernels' data was not prepared: %s", err)
        variables = {}
    _KERNEL_DATA[unit.name] = variables
    os.environ.update(variables)
    readable = [p for p in os.environ.get(kernel.READ_VARIABLE, "").split(os.pathsep) if p]
    os.environ[kernel.READ_VARIABLE] = os.pathsep.join([*readable, folder])


def _unconfined_note(found: dict, assignment: str) -> NotebookNode:
    """A Markdown cell saying this notebook was graded without kernel confinement."""
    with i18n.use(i18n.language_for(config.EDITIONS.get(assignment))):
        text = _(
            "**Graded without kernel confinement** ({variable}=1): this machine lacks {missing}."
        ).format(variable=UNCONFINED_ENV, missing="; ".join(found["missing"]))
    return NotebookNode(cell_type="markdown", metadata={}, source=text)


class QuietOverwriteCells(OverwriteCells):
    """nbgrader's OverwriteCells, without a warning for a test cell that lacks only its hidden
    block (every student copy does): real changes of read-only cells are still reported."""

    def preprocess_cell(self, cell, resources, cell_index):
        """OverwriteCells.preprocess_cell, with the expected checksum difference not reported."""
        self._expected = False
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid and utils.is_locked(cell) and cell.cell_type == "code":
            try:
                source = self.gradebook.find_source_cell(
                    gid, self.notebook_id, self.assignment_id
                ).source
            except Exception:  # noqa: BLE001 - OverwriteCells reports a missing cell itself
                source = None
            if source is not None:
                released = NotebookNode(source=source, cell_type="code", metadata={})
                clear = ClearHiddenTests()
                if clear._remove_hidden_test_region(released):
                    self._expected = _same(cell.source, released.source)
        return super().preprocess_cell(cell, resources, cell_index)

    def report_change(self, name, attr, old, new):
        """Report a change, unless it is a test cell's hidden block, missing by design."""
        if attr == "checksum" and getattr(self, "_expected", False):
            return
        super().report_change(name, attr, old, new)


def _same(a: str, b: str) -> bool:
    """Whether two cell sources are equal but for trailing white space."""
    return a.rstrip() == b.rstrip()


class EditionExportPlugin(CsvExportPlugin):
    """``nbgrader export`` with one row per student and unit: the edition the student handed in
    (English and Chinese are two nbgrader assignments of one unit), or, when none was, a row of 0
    for the unit's first edition. Assignments of no unit get nbgrader's rows; fields are quoted."""

    def export(self, gradebook) -> None:
        """Write the grades CSV (``--to``, default grades.csv)."""
        from nbgrader.api import MissingEntry

        keys = ["assignment", "duedate", "timestamp", "student_id", "last_name", "first_name",
                "email", "raw_score", "late_submission_penalty", "score", "max_score"]  # fmt: skip
        wanted_assignments = {str(a) for a in self.assignment}
        wanted_students = {str(s) for s in self.student}
        assignments = [a for a in gradebook.assignments
                       if not wanted_assignments or a.name in wanted_assignments]  # fmt: skip
        names = {a.name for a in gradebook.assignments}
        rows = []
        for student in gradebook.students:
            if wanted_students and student.id not in wanted_students:
                continue
            submitted = {}
            for assignment in gradebook.assignments:
                try:
                    submitted[assignment.name] = gradebook.find_submission(
                        assignment.name, student.id
                    )
                except MissingEntry:
                    pass
            for assignment in assignments:
                if not _row_wanted(assignment.name, submitted, names):
                    continue
                sub = submitted.get(assignment.name)
                penalty = sub.late_submission_penalty if sub else 0.0
                raw = sub.score if sub else 0.0
                row = {"assignment": assignment.name, "duedate": assignment.duedate,
                       "timestamp": sub.timestamp if sub else "", "student_id": student.id,
                       "last_name": student.last_name, "first_name": student.first_name,
                       "email": student.email, "raw_score": raw, "late_submission_penalty": penalty,
                       "score": max(0.0, raw - (penalty or 0.0)), "max_score": assignment.max_score}  # fmt: skip
                order = assignments.index(assignment)
                rows.append((order, ["" if row[k] is None else str(row[k]) for k in keys]))
        dest = self.to or "grades.csv"
        self.log.info("Exporting grades to %s", dest)
        with open(dest, "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(keys)
            writer.writerows(row for _order, row in sorted(rows, key=lambda r: r[0]))


def _row_wanted(assignment: str, submitted: dict, known: set[str]) -> bool:
    """Whether a student's export has a row for `assignment`: any assignment handed in; else, for
    an edition of a unit, only when no edition of that unit was handed in and it is the first."""
    from autograder import units

    if assignment in submitted or assignment not in config.UNITS:
        return True
    editions = [a for a in units.assignments_of(units.get(assignment)) if a in known]
    if any(edition in submitted for edition in editions):
        return False
    return editions[:1] == [assignment]
