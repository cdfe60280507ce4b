"""The quiz notebook's hidden tests import this path: ``from autograder.quiz import check_answer``.

The quiz itself (questions, answer key, reading answers) belongs to the unit:
autograder/units/softmax_regression/quiz.py.
"""

from autograder.units.softmax_regression.quiz import check_answer

__all__ = ["check_answer"]
