"""The quiz: public question specs, answer validation, the hidden check and static grading of quiz.ipynb.

Answers are read without running the student's notebook (autograder/submissions/answers.py): the
answer cell (found by its nbgrader grade_id, else any code cell assigning the answer variable) is
parsed with ``ast`` and only a literal value (``ast.literal_eval``) is accepted. The key lives only in ``answer_key.json`` next to
this module; messages never reveal it.

Every answer goes through ``normalise`` before it is validated or compared, on every path (this
grader, the self-check and the nbgrader hidden tests via ``check_answer``): Unicode NFKC (full-width
letters and digits as Chinese input methods type them), surrounding whitespace, case, surrounding
parentheses or a trailing ``)``/``.`` of a letter, and a number written as a string when it parses
unambiguously (``"2.3"``; not ``"2,3"``).

Messages and topics are gettext templates (autograder/i18n), written in the current language.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from autograder import config, i18n
from autograder.checks.outcome import CheckResult
from autograder.i18n import N_, _
from autograder.submissions.answers import (  # noqa: F401 - find_answer is part of the quiz's API
    AnswerNotFound,
    MalformedAnswer,
    find_answer,
)
from autograder.submissions.notebook import MalformedNotebook, read_notebook

KEY_FILE = Path(__file__).with_name("answer_key.json")
"""{"answers": {question id: answer}}; packaged with the grader, never released."""

KINDS = ("choice", "number")


@dataclass(frozen=True)
class Question:
    """An auto-graded question; its id is also the grade_id of its answer cell in quiz.ipynb."""

    qid: str
    kind: str
    """"choice": one letter of config.QUIZ.choices; "number": an int or float."""
    variable: str
    """The variable the answer cell assigns, e.g. "q1_answer"."""
    topic: str
    """One line naming what the question is about (shown in messages; an N_() msgid)."""
    rtol: float | None = None
    """Relative tolerance of a number answer: None uses config.QUIZ.numeric_rtol, 0 means exact."""

    @property
    def check_id(self) -> str:
        """The id of the question's check, e.g. "quiz.q1"."""
        return f"quiz.{self.qid}"

    def expected_format(self) -> str:
        """The answer format in words, as the notebook states it."""
        if self.kind == "choice":
            letters = ", ".join(f'"{c}"' for c in config.QUIZ.choices)
            return _("one lowercase letter in quotes, one of {letters}").format(letters=letters)
        return _("a number (int or float, without quotes)")


@dataclass(frozen=True)
class ManualQuestion:
    """A free-text question graded by hand (an nbgrader Markdown answer cell with this grade_id)."""

    qid: str
    points: float
    topic: str


def _question(number: int, kind: str, topic: str, rtol: float | None = None) -> Question:
    """Question q<number> answered in the variable q<number>_answer."""
    return Question(f"q{number}", kind, f"q{number}_answer", topic, rtol)


QUESTIONS: tuple[Question, ...] = (
    _question(
        1, "choice", N_("shift invariance: which input has the same softmax as [100, 101, 102]")
    ),
    _question(2, "choice", N_("why training accuracy starts below test accuracy")),
    _question(3, "choice", N_("softmax keeps the argmax of the logits")),
    _question(4, "choice", N_("broadcasting X / X.sum(1) without keepdim")),
    _question(5, "choice", N_("the shape of X.sum(dim=0, keepdim=True)")),
    _question(6, "choice", N_("cross-entropy depends only on the true class's probability")),
    _question(7, "number", N_("the cross-entropy of one example")),
    _question(8, "choice", N_("minimizing cross-entropy maximizes the likelihood")),
    _question(9, "choice", N_("softmax with two classes is logistic regression")),
    _question(10, "number", N_("the number of parameters of the model"), rtol=0.0),
)
"""The auto-graded questions, in notebook order."""

MANUAL_QUESTIONS: tuple[ManualQuestion, ...] = (
    ManualQuestion("m1", config.QUIZ.manual_points, N_("overflow of exp in a literal softmax")),
    ManualQuestion(
        "m2", config.QUIZ.manual_points, N_("the domain of the logarithm in cross-entropy")
    ),
    ManualQuestion(
        "m3", config.QUIZ.manual_points, N_("is the most probable class always the right decision")
    ),
)
"""The free-text questions graded by hand in nbgrader's formgrader."""

BY_ID = {q.qid: q for q in QUESTIONS}


def question(qid: str) -> Question:
    """The question with this id; KeyError naming the known ids otherwise."""
    try:
        return BY_ID[qid]
    except KeyError:
        raise KeyError(f"unknown quiz question {qid!r}; known: {', '.join(BY_ID)}") from None


def max_points() -> float:
    """Points of the auto-graded questions together."""
    return len(QUESTIONS) * float(config.QUIZ.points_per_question)


NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?", re.I)
"""A number written as a string that parses one way only (no thousands or decimal commas)."""


def _unwrap(text: str) -> str:
    """Text without surrounding whitespace, parentheses, or a trailing ")" or "."."""
    for _attempt in range(3):
        text = text.strip()
        if len(text) >= 2 and text[0] == "(" and text[-1] == ")":
            text = text[1:-1]
        elif len(text) >= 2 and text[-1] in ").":
            text = text[:-1]
        else:
            break
    return text.strip()


def normalise(qid: str, value):
    """The answer `value` as the key writes it, when it is unambiguous; otherwise `value` unchanged.

    Choice questions: a string, NFKC-normalised, stripped, lowercased, unwrapped (``" (B) "`` and
    ``"ｂ"`` give ``"b"``). Number questions: a string holding one number gives that number
    (``"2.3"`` gives 2.3, ``"7850"`` gives 7850). What stays malformed is judged by ``validate``.
    """
    q = question(qid)
    if not isinstance(value, str):
        return value
    text = unicodedata.normalize("NFKC", value).replace("\u2212", "-")
    if q.kind == "choice":
        unwrapped = _unwrap(text.lower())
        return unwrapped if unwrapped in config.QUIZ.choices else value
    text = text.strip()
    if text.startswith("(") and text.endswith(")"):
        text = text[1:-1].strip()
    if NUMBER.fullmatch(text):
        number = float(text)
        if re.fullmatch(r"[+-]?\d+", text) and len(text) <= 40:  # int() refuses 4300+ digits
            number = int(text)
        return number if math.isfinite(number) else value
    return value


def validate(qid: str, value) -> str | None:
    """None if `value` is a well-formed answer to `qid`, else a message naming the expected format."""
    q = question(qid)
    value = normalise(qid, value)
    shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
    fields = {"variable": q.variable, "format": q.expected_format(), "shown": shown}
    wrong_type = _("{variable} must be {format}; got {shown} ({type})")
    if q.kind == "choice":
        if not isinstance(value, str):
            return wrong_type.format(**fields, type=type(value).__name__)
        if value not in config.QUIZ.choices:
            return _("{variable} must be {format}; got {shown}").format(**fields)
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return wrong_type.format(**fields, type=type(value).__name__)
    if not math.isfinite(value):
        return _("{variable} must be a finite number; got {shown}").format(**fields)
    return None


@cache
def _key() -> dict:
    """The answer key, checked against the question specs."""
    answers = json.loads(KEY_FILE.read_text(encoding="utf-8"))["answers"]
    if set(answers) != set(BY_ID):
        raise RuntimeError(f"{KEY_FILE} does not answer exactly the questions {', '.join(BY_ID)}")
    for qid, answer in answers.items():
        problem = validate(qid, answer)
        if problem:
            raise RuntimeError(f"{KEY_FILE}: the key of {qid} is malformed: {problem}")
    return answers


def is_correct(qid: str, value) -> bool:
    """Whether a well-formed answer equals the key (numbers: within the question's tolerance)."""
    q, want = question(qid), _key()[qid]
    value = normalise(qid, value)
    if q.kind == "choice":
        return value == want
    rtol = config.QUIZ.numeric_rtol if q.rtol is None else q.rtol
    return math.isclose(value, want, rel_tol=rtol, abs_tol=0.0)


def check_answer(qid: str, value, lang=None) -> None:
    """The hidden test of a quiz cell: raise AssertionError unless `value` is the right answer.

    Its message is in `lang` (None: i18n.here(), the edition of the quiz in the kernel's folder)."""
    with i18n.use(lang or i18n.here()):
        problem = validate(qid, value)
        if problem:
            raise AssertionError(_("malformed: {problem}").format(problem=problem))
        if not is_correct(qid, value):
            topic = _(question(qid).topic)
            raise AssertionError(_("wrong answer to {qid} ({topic})").format(qid=qid, topic=topic))


ANSWER_SHOWN_CHARS = 200
"""The longest answer (its text or repr) a quiz check's details keep."""


def _shown(value):
    """An answer as a result keeps it: a finite number or a short text (an infinite float, a huge
    int or a long string as a bounded repr), so every answer is graded and written, never a crash."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    if isinstance(value, int) and value.bit_length() <= 64:
        return value
    if isinstance(value, str) and len(value) <= ANSWER_SHOWN_CHARS:
        return value
    try:
        text = repr(value)
    except ValueError:  # an int too long to write out
        text = f"<an int of {value.bit_length()} bits>"
    return text if len(text) <= ANSWER_SHOWN_CHARS else text[: ANSWER_SHOWN_CHARS - 3] + "..."


def grade_question(nb: dict, q: Question) -> CheckResult:
    """The CheckResult of one question of a parsed notebook."""
    points = float(config.QUIZ.points_per_question)
    try:
        value, where = find_answer(nb, q)
    except AnswerNotFound as err:
        return CheckResult(q.check_id, 0.0, points, "missing", str(err))
    except MalformedAnswer as err:
        return CheckResult(q.check_id, 0.0, points, "malformed", str(err))
    details = {"where": where, "answer": _shown(value)}
    read = normalise(q.qid, value)
    if type(read) is not type(value) or read != value:
        details["read_as"] = _shown(read)
    problem = validate(q.qid, value)
    if problem:
        return CheckResult(q.check_id, 0.0, points, "malformed", problem, details)
    if not is_correct(q.qid, value):
        message = _("wrong answer ({topic})").format(topic=_(q.topic))
        return CheckResult(q.check_id, 0.0, points, "failed", message, details)
    return CheckResult(q.check_id, points, points, "passed", "", details)


def grade_quiz(notebook_path) -> list[CheckResult]:
    """One CheckResult per question (check_id "quiz.q1", ...) for a student's quiz notebook."""
    points = float(config.QUIZ.points_per_question)
    path = Path(notebook_path)
    if not path.exists():
        message = _("{name} was not submitted (no file {path})").format(name=path.name, path=path)
        return [CheckResult(q.check_id, 0.0, points, "missing", message) for q in QUESTIONS]
    try:
        nb = read_notebook(path)
    except MalformedNotebook as err:
        return [CheckResult(q.check_id, 0.0, points, "malformed", str(err)) for q in QUESTIONS]
    return [grade_question(nb, q) for q in QUESTIONS]
