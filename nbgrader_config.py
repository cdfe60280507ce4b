"""nbgrader configuration of the d2l-softmax course; this folder is the course root.

Run nbgrader commands from this folder (e.g. ``nbgrader generate_assignment softmax_regression``).
Instructor state (gradebook.db, submitted/, autograded/, feedback/) stays out of git (.gitignore);
set NBGRADER_DB_URL (e.g. sqlite:////home/me/d2l-softmax.db) to keep the gradebook outside the
repository. scripts/release.sh uses a throw-away gradebook unless given --gradebook.
"""

import os
from pathlib import Path

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.converters import Autograde
from nbgrader.preprocessors import (
    ClearHiddenTests,
    Execute,
    GetGrades,
    NbGraderPreprocessor,
    OverwriteCells,
)

from autograder.platforms.nbgrader import ConfinedGrade, EditionExportPlugin, QuietOverwriteCells

c = get_config()  # noqa: F821 - provided by traitlets when nbgrader loads this file

COURSE_ROOT = Path(__file__).resolve().parent

c.CourseDirectory.course_id = os.environ.get("SOFTMAX_COURSE_ID", "d2l-softmax")
c.CourseDirectory.root = str(COURSE_ROOT)
# nbgrader's exchange on a shared JupyterHub: release_assignment, collect and release_feedback
# write and read here; students' fetch_assignment, submit and fetch_feedback use the same folder
# (deploy/jupyterhub/nbgrader_config.py is their side). It must exist, be writable by everyone
# and sticky (sudo install -d -m 1777 /srv/nbgrader/exchange).
c.Exchange.root = os.environ.get("NBGRADER_EXCHANGE_ROOT", "/srv/nbgrader/exchange")
if os.environ.get("NBGRADER_DB_URL"):
    c.CourseDirectory.db_url = os.environ["NBGRADER_DB_URL"]
# Never copy caches or checkpoints into release/ or autograded/ (nbgrader's default list, plus
# the caches a local run of the notebooks or of pytest leaves next to them).
c.CourseDirectory.ignore = [
    ".ipynb_checkpoints",
    "*.pyc",
    "__pycache__",
    "feedback",
    ".pytest_cache",
]

# Grading: nbgrader's Execute step (student code in an ordinary kernel with the instructor's rights,
# hidden tests judging inside it) is replaced by the confined grader, which grades each notebook
# with the sandboxed workers and judging of `python -m autograder grade` and writes each test cell's
# verdict as the outputs nbgrader scores; the student's own outputs come from the confined kernel
# (softmax-confined). Test cells lack their hidden block in every student copy by design: only real
# changes of read-only cells are reported. See autograder/platforms/nbgrader.py.
c.Autograde.sanitize_preprocessors = [
    QuietOverwriteCells if step is OverwriteCells else step
    for step in Autograde.class_traits()["sanitize_preprocessors"].default()
]
c.Autograde.autograde_preprocessors = [
    ConfinedGrade if step is Execute else step
    for step in Autograde.class_traits()["autograde_preprocessors"].default()
]
# nbgrader export: one row per student for the edition handed in (English or Chinese), not one per
# assignment in the gradebook (nbgrader's default gives every student a 0 for the other edition).
c.ExportApp.plugin_class = EditionExportPlugin
# A demo cell (the training run, predict_ch3) may run this long in the confined kernel, and the
# whole notebook this long (the student's outputs only: no point depends on them).
c.ConfinedGrade.timeout = 600
c.ConfinedGrade.display_seconds = 900


class ShortTestTracebacks(NbGraderPreprocessor):
    """Feedback: reduce the errors of autograded test cells to their message (no hidden code)."""

    def preprocess_cell(self, cell, resources, index):
        """Replace the traceback of each error of a test cell by 'Name: message'."""
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            for output in cell.get("outputs", []):
                if output.output_type == "error":
                    output.traceback = [f"{output.ename}: {output.evalue}"]
        return cell, resources


# Feedback: nbgrader puts the hidden tests back into autograded notebooks and, by design, shows
# them in the feedback HTML (jupyter/nbgrader#917), in the cells and in the tracebacks of failed
# tests. Clear both in feedback; students still see each test's comment, its points and the
# student-readable message of a failed check. (Instructors see everything in autograded/.)
c.GenerateFeedback.preprocessors = [
    GetGrades,
    ClearHiddenTests,
    ShortTestTracebacks,
    CSSHTMLHeaderPreprocessor,
]

# The kernels that nbgrader starts read Fashion-MNIST from FASHION_MNIST_ROOT. On course machines
# the official files sit beside the repository; use them when nothing else is configured.
_shared_data = COURSE_ROOT.parent / "shared" / "data" / "fashion-mnist"
if not os.environ.get("FASHION_MNIST_ROOT") and _shared_data.is_dir():
    os.environ["FASHION_MNIST_ROOT"] = str(_shared_data)
