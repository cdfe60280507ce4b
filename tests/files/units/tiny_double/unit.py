"""The tiny_double test unit: one graded function, double(x) = 2x, and no quiz or training."""

from __future__ import annotations

EDITIONS = {"tiny_double": "en"}
"""Its assignments (registered by SOFTMAX_UNITS_PATH: this folder is outside the repository's units)."""

TITLE = "doubling, a test unit"

POINTS = {"double.values": 2, "double.not_in_place": 1}

GRADED_FUNCTIONS = ("double",)

MAIN_NOTEBOOK = "double.ipynb"

QUIZ_NOTEBOOK = None

FORBIDDEN_BUILTINS = {"double": ("mul",)}
"""double must use the * operator, not torch.mul (so that a forbidden-name check is exercised)."""

DEMO_CALLS = frozenset({"show_double"})
