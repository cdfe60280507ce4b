"""The result of one check and of one submission: the records every output format is made from.

Their statuses are listed in autograder/checks/status.py."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


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
