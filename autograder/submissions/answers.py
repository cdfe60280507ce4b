"""Reading an answer from a notebook without running it: the literal a code cell assigns to a variable.

A question names the grade_id of its answer cell and the variable the cell assigns; the answer
cell is looked at first, then any code cell. Only a literal (``ast.literal_eval``) is accepted, so
nothing the student wrote runs in the grader. Messages are gettext templates (autograder/i18n).
"""

from __future__ import annotations

import ast
from typing import Protocol

from autograder.i18n import _
from autograder.submissions.notebook import grade_id, python_source


class AnswerSpec(Protocol):
    """What find_answer needs of a question (a unit's quiz.Question has it)."""

    qid: str
    """The grade_id of its answer cell."""
    variable: str
    """The variable the answer cell assigns."""

    def expected_format(self) -> str:
        """How the answer is written (for messages)."""


class AnswerNotFound(Exception):
    """No assignment to the answer variable in the notebook."""


class MalformedAnswer(Exception):
    """An assignment that is not a literal, or an answer cell that cannot be parsed."""


def _assigned_values(tree: ast.Module, variable: str) -> list[ast.expr]:
    """Value nodes assigned to `variable` by top-level statements, in order."""
    values = []
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and node.value is not None:
            pairs = [(node.target, node.value)]
        elif isinstance(node, ast.Assign):
            pairs = [(t, node.value) for t in node.targets]
        else:
            continue
        for target, value in pairs:
            if isinstance(target, ast.Name) and target.id == variable:
                values.append(value)
            elif isinstance(target, (ast.Tuple, ast.List)):
                elts = value.elts if isinstance(value, (ast.Tuple, ast.List)) else None
                for i, elt in enumerate(target.elts):
                    if isinstance(elt, ast.Name) and elt.id == variable:
                        values.append(elts[i] if elts and len(elts) == len(target.elts) else value)
    return values


def _literal(node: ast.expr, q: AnswerSpec):
    """The literal value of an assigned expression; MalformedAnswer if it is not a literal."""
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        raise MalformedAnswer(
            _(
                "{variable} must be assigned a literal value ({format}), not an expression: "
                "answers are read without running the notebook"
            ).format(variable=q.variable, format=q.expected_format())
        ) from None


def find_answer(nb: dict, q: AnswerSpec) -> tuple[object, str]:
    """(answer value, where it was found) read statically from a notebook's code cells.

    The answer cell (grade_id == q.qid) is looked at first; if it assigns nothing, the last
    assignment in any code cell counts. Raises AnswerNotFound or MalformedAnswer.
    """
    code_cells = [(i, c) for i, c in enumerate(nb["cells"]) if c.get("cell_type") == "code"]
    own = [(i, c) for i, c in code_cells if grade_id(c) == q.qid]
    for index, cell in reversed(own):
        try:
            tree = ast.parse(python_source(cell["source"]))
        except SyntaxError as err:
            raise MalformedAnswer(
                _(
                    "the answer cell of {qid} (cell {cell}) has a syntax error at line {line}: {error}"
                ).format(qid=q.qid, cell=index + 1, line=err.lineno, error=err.msg)
            ) from None
        values = _assigned_values(tree, q.variable)
        if values:
            return _literal(values[-1], q), f"cell grade_id={q.qid}"
    found = None
    for index, cell in code_cells:
        if q.variable not in cell["source"]:
            continue
        try:
            tree = ast.parse(python_source(cell["source"]))
        except SyntaxError:
            continue
        values = _assigned_values(tree, q.variable)
        if values:
            found = (values[-1], f"code cell {index + 1}")
    if found is None:
        raise AnswerNotFound(
            _(
                "no answer: {variable} is not assigned in the answer cell of {qid} or in any "
                "other code cell; write {variable} = ... ({format})"
            ).format(variable=q.variable, qid=q.qid, format=q.expected_format())
        )
    return _literal(found[0], q), found[1]
