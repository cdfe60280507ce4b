"""Every number that decides a grade and the chapter's units share: tolerances, thresholds,
epochs, seeds, limits, quiz and late policy, and the course's units (which assignment each grades).

Change grading policy here and nowhere else; what is a unit's own (its checks' points, graded
functions, notebooks, forbidden operators) is declared in its folder's unit.py
(autograder/units/<unit>/unit.py, docs/adding-a-unit.md), the one place for it. The README's
"Grading policy" table restates the points (tests/test_config.py keeps them in agreement).
Environment variables named in a comment override a value for one run without editing the file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

ASSIGNMENT = "softmax_regression"
"""nbgrader assignment name: the folder under source/, release/ and submitted/<student>/."""

COURSE_ROOT = Path(os.environ.get("SOFTMAX_COURSE_ROOT", Path(__file__).resolve().parents[1]))
"""The nbgrader course folder (holding source/ and release/); SOFTMAX_COURSE_ROOT overrides it."""

RELEASE_DIR = COURSE_ROOT / "release" / ASSIGNMENT
"""Where read-only cells and the student helper modules are read from (never the student's copy)."""

EDITIONS = {
    "softmax_regression": "en",
    "softmax_regression_zh": "zh_CN",
    "softmax_regression_concise": "en",
    "softmax_regression_concise_zh": "zh_CN",
}
"""nbgrader assignment -> language of its notebooks. Each edition is its own assignment (source/,
release/, submitted/<student>/) with the same solution cells, grade_ids, points and code; the
Chinese one is generated from the English one by scripts/make_zh_edition.py."""

UNITS = {
    "softmax_regression": "softmax_regression",
    "softmax_regression_zh": "softmax_regression",
    "softmax_regression_concise": "softmax_regression_concise",
    "softmax_regression_concise_zh": "softmax_regression_concise",
}
"""nbgrader assignment -> the unit (package under autograder/units/) that grades it: both editions
are one unit, with one set of checks and points. A unit's own numbers (points, graded functions,
notebooks) are in its folder's unit.py (docs/adding-a-unit.md)."""

UNITS_PATH = [p for p in os.environ.get("SOFTMAX_UNITS_PATH", "").split(os.pathsep) if p]
"""More folders of unit packages, outside this repository (SOFTMAX_UNITS_PATH, separated like
PATH): each subfolder with a unit.py is a unit whose unit.py names its assignments in EDITIONS
(assignment -> language); they are registered in UNITS and EDITIONS when autograder.units is
imported."""


def release_dir(assignment: str = ASSIGNMENT) -> Path:
    """The release folder of an edition's assignment (read-only cells and helpers come from here)."""
    if assignment not in EDITIONS:
        raise ValueError(f"unknown assignment {assignment!r}; expected one of {sorted(EDITIONS)}")
    return COURSE_ROOT / "release" / assignment


# --------------------------------------------------------------------------------------------
# Numerical tolerances (|got - want| <= ATOL + RTOL * |want|, elementwise).
# --------------------------------------------------------------------------------------------
RTOL = {"float32": 1e-4, "float64": 1e-7}
ATOL = {"float32": 1e-6, "float64": 1e-10}
STABILITY_MAGNITUDES = (1e3, 1e4)
"""Logit magnitudes the stability checks use (mixed signs, float32 and float64)."""
CE_UNDERFLOW_MIN_LOSS = 15.0
"""cross_entropy of a true-class probability that underflowed to 0 must be finite and at least
this large (i.e. any clamp epsilon <= 3e-7 passes); other rows must still be exact."""
GRADCHECK_EPS = 1e-6
GRADCHECK_ATOL = 1e-5
GRADCHECK_RTOL = 1e-3

# --------------------------------------------------------------------------------------------
# Training (d2l section 4.2 / 3.6): hyperparameters, seeds and accuracy tiers.
# --------------------------------------------------------------------------------------------
NUM_EPOCHS = 10
LR = 0.1
BATCH_SIZE = 256
NUM_INPUTS = 784
NUM_OUTPUTS = 10
INIT_STD = 0.01
SEED = 0
"""Seed of the weight initialisation and of the training-batch order."""
HIDDEN_TEST_FRACTION = 0.5
"""Share of the 10,000 test images the grader keeps back: the student's ``test_iter`` holds the
rest, and every accuracy that earns points is measured by the grader on the hidden share."""
HIDDEN_SPLIT_SEED = 20
"""Seed of the permutation that splits the test set into visible and hidden images."""
TRAJECTORY_EPOCHS = 2
"""Epochs of the run with the grader's model: enough to see per-epoch evaluation and the epoch
loop; the parameters are compared with the grader's own SGD run, so no 10-epoch run is needed."""
TRAJECTORY_STEPS = (1, 2, 3)
"""Updater steps after which the parameters are also compared (zero_grad, scaling, order)."""
TRAJECTORY_RTOL = 2e-3
"""Largest relative difference max|P - P_ref| / max|P_ref| between the student's and the
grader's parameters (float32 SGD in another summation order stays below 1e-4)."""
END_TO_END_RTOL = 5e-2
"""The same bound after the first epoch of the end-to-end run (the student's own softmax and
loss: other stable formulas differ slightly; a run that is not d2l's SGD differs by far more)."""
LOSS_CLASS_WEIGHTS = (1.2, 0.8, 1.1, 0.9, 1.25, 0.75, 1.15, 0.85, 1.05, 0.95)
"""The grader's model weights each class's loss by these factors, so that a train_ch3 that
trains with some other loss than the one it is given leaves the grader's SGD trajectory."""
ACCURACY_TIERS = ((0.80, 1.0), (0.70, 0.5))
"""(minimum test accuracy, fraction of the points): the first tier reached counts. The reference
solution reaches 0.825-0.834 over seeds 0-4 on the official test set."""
STOP_EARLY = os.environ.get("SOFTMAX_STOP_EARLY", "1") != "0"
"""True: the end-to-end run (the student's own softmax, cross_entropy and train_ch3) is judged as
soon as its verdict is known, and stops there (the grader measures the parameters after every
epoch): at the end of the first epoch whose parameters reach the top tier of ACCURACY_TIERS on the
hidden test images, or at the end of the first epoch when they have left d2l's SGD run there by
more than END_TO_END_RTOL (the end-to-end check compares them at that point: no points, whatever
the later epochs do). A run that does neither is judged after its last epoch, as d2l's. False
(SOFTMAX_STOP_EARLY=0): always NUM_EPOCHS epochs, judged after the last. The two differ only for a
run that reaches the top tier and then falls below it, and for code that changes what it does
after the first epoch; the reference solution reaches the top tier after 2 epochs (about 5x less
training than 10), a run that leaves d2l's path stops after 1."""


# --------------------------------------------------------------------------------------------
# Worker limits: each submission runs in its own process with these.
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Limits:
    """Resource limits of one submission's worker process."""

    call_seconds: float = 20.0
    """Wall time of one call of a graded function (not training)."""
    train_seconds: float = 180.0
    """Wall time of one 10-epoch training run on CPU (reference: about 3-4 s on 2 cores)."""
    load_seconds: float = 30.0
    """Wall time to define the student's functions (top-level statements are not run)."""
    submission_seconds: float = 600.0
    """Wall time of everything one submission may use; later checks are marked timeout."""
    memory_bytes: int = 3 * 1024**3
    """Resident memory of a worker (polled); over it the worker is killed (status memory)."""
    address_space_bytes: int = 12 * 1024**3
    """RLIMIT_AS on CPU workers, a hard backstop for allocations (not set on CUDA workers)."""
    file_size_bytes: int = 64 * 1024**2
    """RLIMIT_FSIZE: the largest file a worker may write (its scratch folder only)."""
    open_files: int = 256
    """RLIMIT_NOFILE."""
    processes: int = 0
    """0: starting processes (fork, subprocess, exec, spawn) is refused. Any other value allows it
    (no count is enforced: RLIMIT_NPROC counts a whole user's processes, not one worker's); every
    child is killed with the worker's process group either way."""


LIMITS = Limits(
    call_seconds=float(os.environ.get("SOFTMAX_CALL_SECONDS", 20.0)),
    train_seconds=float(os.environ.get("SOFTMAX_TRAIN_SECONDS", 180.0)),
    submission_seconds=float(os.environ.get("SOFTMAX_SUBMISSION_SECONDS", 600.0)),
)

PROGRESS_MESSAGES = 32
"""The most "progress" messages one followed training run may send (one per epoch's end before
its last: the first unit's run sends at most NUM_EPOCHS - 1); a worker that sends more is killed
(status crashed), so that no code can keep the grader busy reading and measuring them."""
PENDING_BYTES = 16 * 1024**2
"""The most bytes of an early run's messages the grader reads ahead while another worker answers
(runner.WorkerCaller._drain; a run's reports and reply take about 1.5 MB); past it the run waits
on its pipe until its check asks for it."""
REPLY_GRACE_SECONDS = 5.0
"""A worker's reply that has begun when its request's time limit is over may take this much longer
to arrive whole (a 64 MB reply crosses a pipe in well under a second); one still incomplete then
kills the worker (status crashed). The grader reads and writes a worker's pipe only with such
deadlines (sandbox/wire.py: FrameReader, write_frame), never blocking."""


# --------------------------------------------------------------------------------------------
# What the grader itself spends on one submission (issue 20): bounded whatever a student sends.
# --------------------------------------------------------------------------------------------
NOTEBOOK_CODE_CHARS = 128 * 1024
"""The most characters the code cells of a submitted notebook may hold together (the assignment's
take about 13,500): checked before anything is parsed (submissions/notebook.read_notebook), so the
grader's own parsing of any notebook (IPython's transformer, ast.parse, ast.unparse) stays within
about 2 s and 100 MB (measured on 2 busy cores: 1.6 s, +45 MB for 131,072 characters of one-line
assignments)."""
NOTEBOOK_CELLS = 1000
"""The most cells a submitted notebook may hold (the assignment's about 80): each code cell costs
the grader a transformer and a parse of its own."""
NOTEBOOK_JSON_ITEMS = 1_000_000
"""The most JSON items (counted as the bytes "[", "{" and "," in the file, strings included) a
notebook may hold (the assignment's hold about 2,300): checked on the raw bytes before json.loads,
which makes a Python object of about 85 bytes of each; outputs are what exceeds it."""
RESULT_MAX_BYTES = 1024**2
"""The most a student's results.json holds (autograder/results/exports.make_writable): a result
that would be larger loses its checks' details and has its texts cut to RESULT_SHORT_CHARS."""
RESULT_TEXT_CHARS = 8000
"""The longest text (a message, a detail) a result keeps; longer ones are cut, saying so."""
RESULT_SHORT_CHARS = 1000
"""The longest text of a result cut down to fit RESULT_MAX_BYTES."""
RESULT_LIST_ITEMS = 1000
"""The most items a list or dict in a result keeps (a training curve has NUM_EPOCHS rows)."""
RESULT_DEPTH = 12
"""The deepest nesting of lists and dicts a result keeps."""


@dataclass(frozen=True)
class Quiz:
    """Quiz policy."""

    points_per_question: float = 1.0
    """Points of each auto-graded question."""
    manual_points: float = 2.0
    """Points of each free-text question (graded by hand in nbgrader; the cell metadata must agree,
    tests/course/test_release.py checks)."""
    numeric_rtol: float = 1e-3
    choices: tuple[str, ...] = field(default=("a", "b", "c", "d"))


QUIZ = Quiz()


# --------------------------------------------------------------------------------------------
# Late submissions (autograder/results/late.py applies them; `grade --due/--late-penalty` override).
# --------------------------------------------------------------------------------------------
DUE_DATE: str | None = os.environ.get("SOFTMAX_DUE_DATE") or None
"""The assignment's due date (ISO 8601; no time zone means UTC) when `grade --due` gives none; when
this is None too, nbgrader's gradebook's due date is used if gradebook.db exists. SOFTMAX_DUE_DATE
overrides it."""


@dataclass(frozen=True)
class LatePolicy:
    """Points deducted for lateness: `per_day` of the maximum score per started day late (after
    `grace_minutes`), at most `max_fraction` of it, never below 0 points in all."""

    per_day: float = 0.0
    max_fraction: float = 1.0
    grace_minutes: float = 0.0

    @property
    def enabled(self) -> bool:
        return self.per_day > 0


LATE_POLICY = LatePolicy()
"""Off by default (per_day 0): lateness is recorded and shown, nothing is deducted."""
