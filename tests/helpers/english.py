"""english_words: the English prose left in a message a Chinese submission reads."""

from __future__ import annotations

import keyword
import re

from autograder import i18n
from autograder.units.softmax_regression import unit as softmax_unit

EXCEPTION = re.compile(r"\b[A-Za-z_.]*(Error|Exception|Interrupt|Exit)\b:.*")
"""A Python or torch exception raised by the student's code, quoted as Python wrote it."""
CODE = re.compile(r"`[^`]*`|\S*[_().\[\]=/<>0-9|:+*-]\S*")
"""Code, numbers, shapes, dtypes and indexing: left as they are in every language."""
ALLOWED = {"softmax", "logits", "log", "exp", "inf", "nan", "NaN", "keepdim", "loss", "torch", "dtype",
           "float32", "float64", "Tensor", "NotImplementedError", "SGD", "sgd", "updater", "argmax", "net"}  # fmt: skip
ALLOWED |= set(softmax_unit.GRADED_FUNCTIONS) | set(keyword.kwlist)
"""Identifiers, notation and code a d2l-zh reader reads in Chinese text too."""


def english_words(message: str) -> list[str]:
    """Words of English prose left in a message (not code, numbers, identifiers or an exception)."""
    words = []
    for line in message.splitlines():
        called = i18n.parse("Calling {function} raised an error: {error}", line)
        if called:
            line = line.replace(called["error"], "")
        line = CODE.sub(" ", EXCEPTION.sub(" ", line))
        words += [w for w in re.findall(r"[A-Za-z]{2,}", line) if w not in ALLOWED]
    return words
