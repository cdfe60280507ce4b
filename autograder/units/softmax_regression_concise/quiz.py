"""The quiz of the concise unit: its questions and key, graded by the first unit's quiz machinery.

The questions of source/softmax_regression_concise/quiz.ipynb are declared here; the key is
``answer_key.json`` beside this module (never released). Everything else (answer formats and
their normalisation, validation, the hidden check, static grading of a notebook) is the code of
``autograder.units.softmax_regression.quiz``, not copied but rebound: each of its functions is
re-created over this module's globals (``QUESTIONS``, ``BY_ID``, ``KEY_FILE``, ``_key``...), so it
reads this quiz's questions and key and behaves exactly as it does for the first unit. The module
offers the same names as the first unit's quiz (``units.get(assignment).quiz``).
"""

from __future__ import annotations

import json  # noqa: F401 - read by the rebound _key
import math  # noqa: F401 - read by the rebound normalise, validate, is_correct
import re  # noqa: F401 - read by the rebound normalise
import types
import unicodedata  # noqa: F401 - read by the rebound normalise
from functools import cache
from pathlib import Path

from autograder import config, i18n  # noqa: F401 - read by the rebound functions
from autograder.checks.outcome import CheckResult  # noqa: F401 - read by the rebound functions
from autograder.i18n import N_, _  # noqa: F401 - _ is read by the rebound functions
from autograder.submissions.notebook import MalformedNotebook, read_notebook  # noqa: F401
from autograder.units.softmax_regression import quiz as _first
from autograder.units.softmax_regression.quiz import (  # noqa: F401 - the quiz's API
    ANSWER_SHOWN_CHARS,
    KINDS,
    NUMBER,
    AnswerNotFound,
    MalformedAnswer,
    ManualQuestion,
    Question,
    _question,
    _shown,
    _unwrap,
    find_answer,
)

KEY_FILE = Path(__file__).with_name("answer_key.json")
"""{"answers": {question id: answer}}; packaged with the grader, never released."""

QUESTIONS: tuple[Question, ...] = (
    _question(1, "choice", N_("why nn.CrossEntropyLoss takes the logits, not probabilities")),
    _question(2, "number", N_("the value of logsumexp([1000, 1000])"), rtol=1e-6),
    _question(3, "choice", N_("the shape of the gradient dL/dW of a minibatch")),
    _question(4, "choice", N_("what reduction='none' changes in nn.CrossEntropyLoss")),
    _question(5, "choice", N_("softmax regression as a network of one fully connected layer")),
    _question(6, "number", N_("the gradient when every prediction is right with probability 1"), rtol=0.0),
    _question(7, "number", N_("the derivative of one example's loss with respect to a logit")),
    _question(8, "choice", N_("the shape that nn.Flatten returns")),
)  # fmt: skip
"""The auto-graded questions, in notebook order. q2's answer is 1000 + ln 2: a tolerance of
1e-6 (0.001) tells it from 1000; q6's answer is 0, which only an exact tolerance can judge."""

MANUAL_QUESTIONS: tuple[ManualQuestion, ...] = (
    ManualQuestion(
        "m1",
        config.QUIZ.manual_points,
        N_("the effect of the batch size, epochs and learning rate"),
    ),
    ManualQuestion(
        "m2", config.QUIZ.manual_points, N_("why the test accuracy can fall with more epochs")
    ),
)
"""The free-text questions graded by hand in nbgrader's formgrader (d2l's two exercises)."""

BY_ID = {q.qid: q for q in QUESTIONS}


def _rebound(function: types.FunctionType) -> types.FunctionType:
    """`function` of the first unit's quiz, reading this module's globals instead of its own."""
    copy = types.FunctionType(
        function.__code__, globals(), function.__name__, function.__defaults__, function.__closure__
    )
    copy.__kwdefaults__ = function.__kwdefaults__
    copy.__doc__ = function.__doc__
    copy.__qualname__ = function.__qualname__
    copy.__module__ = __name__
    return copy


question = _rebound(_first.question)
max_points = _rebound(_first.max_points)
normalise = _rebound(_first.normalise)
validate = _rebound(_first.validate)
_key = cache(_rebound(_first._key.__wrapped__))
is_correct = _rebound(_first.is_correct)
check_answer = _rebound(_first.check_answer)
grade_question = _rebound(_first.grade_question)
grade_quiz = _rebound(_first.grade_quiz)

REBOUND = (
    question, max_points, normalise, validate, _key.__wrapped__, is_correct, check_answer,
    grade_question, grade_quiz,
)  # fmt: skip
"""The first unit's functions that run here over this quiz (tests check each finds its names)."""
