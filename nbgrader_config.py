"""nbgrader configuration of the d2l-softmax course; this folder is the course root.

Run nbgrader commands from this folder (e.g. ``nbgrader generate_assignment softmax_regression``).
Instructor state (gradebook.db, submitted/, autograded/, feedback/) stays out of git (.gitignore);
set NBGRADER_DB_URL (e.g. sqlite:////home/me/d2l-softmax.db) to keep the gradebook outside the
repository. scripts/release.sh uses a throw-away gradebook unless given --gradebook.
"""

import os
from pathlib import Path

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import ClearHiddenTests, GetGrades, NbGraderPreprocessor

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

# Training 10 epochs takes seconds, but hidden train_ch3 checks train several models; allow them
# up to the grader's per-submission budget per cell instead of nbgrader's default of 30 s.
c.Execute.timeout = 600


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
