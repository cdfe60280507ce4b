"""The result of one check and of one submission: the records every output format is made from."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

STATUSES = (
    "passed",
    "failed",
    "error",
    "timeout",
    "crashed",
    "memory",
    "forbidden",
    "missing",
    "malformed",
    "grader_error",
)
"""passed: full points; failed: wrong result; error: the student's code raised; timeout: a time limit
was hit; crashed: the worker process died; memory: the memory cap was hit; forbidden: a built-in the
function must implement itself, or tampering; missing: the function or answer is not in the notebook;
malformed: the notebook or answer could not be read; grader_error: the grader itself failed (its
device, data or worker start-up), never the student's result: not reused by a rerun, regraded."""

SUBMISSION_STATUSES = (
    "ok", "timeout", "memory", "crashed", "malformed", "forbidden", "missing", "grader_error",
)  # fmt: skip
"""Overall status of a submission: ok unless something other than a wrong answer happened."""


@dataclass
class CheckResult:
    """One graded check: its points and a message a student can act on."""

    check_id: str
    """e.g. "softmax.stability" or "quiz.q3"."""
    score: float
    max_score: float
    status: str
    message: str = ""
    """What input, what was expected, what came back, and a hint (empty when passed)."""
    details: dict = field(default_factory=dict)
    """Machine-readable extras for reports (e.g. measured accuracy, training curve)."""

    @property
    def function(self) -> str:
        """The group a check belongs to: the part of its id before the first dot."""
        return self.check_id.split(".", 1)[0]

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> CheckResult:
        return cls(
            **{
                k: data[k]
                for k in ("check_id", "score", "max_score", "status", "message", "details")
                if k in data
            }
        )


@dataclass
class SubmissionResult:
    """Everything the grader concluded about one student's submission."""

    student: str
    checks: list[CheckResult]
    status: str = "ok"
    message: str = ""
    seconds: float = 0.0
    device: str = "cpu"
    info: dict = field(default_factory=dict)
    """Grading facts for reports: fingerprint, peak memory, warnings, worker restarts."""

    @property
    def score(self) -> float:
        return round(sum(c.score for c in self.checks), 6)

    @property
    def grader_failed(self) -> bool:
        """Whether the grader failed on this submission (its result is not the student's)."""
        return self.status == "grader_error" or any(c.status == "grader_error" for c in self.checks)

    @property
    def max_score(self) -> float:
        return round(sum(c.max_score for c in self.checks), 6)
