"""The self-check's caller: run the shared checks on functions defined in a notebook kernel.

Only the student-side self-check (selfcheck.py) runs checks in a kernel, on the student's own
machine, and it never judges a grade. Grades, on every path (``grade``, the pytest plugin,
Gradescope, ``nbgrader autograde``), come from the confined workers (autograder/sandbox/).
"""

from __future__ import annotations

import ast
import inspect
import textwrap

from autograder.submissions.notebook import forbidden_uses
from autograder.units import get as unit_of

UNIT = unit_of()
Caller, execute_call, run_training = (
    UNIT.caller.Caller,
    UNIT.calls.execute_call,
    UNIT.calls.run_training,
)


class InProcessCaller(Caller):
    """Calls functions from a namespace dict (a notebook's globals) in this process."""

    def __init__(self, namespace, device="cpu"):
        super().__init__(device)
        self.namespace = namespace

    def call(self, fn, args, grad_wrt=(), cotangent=None, device=None):
        args = [a.clone() if hasattr(a, "clone") else a for a in args]
        return execute_call(self.namespace, fn, args, grad_wrt, cotangent, device=device)

    def _train(self, mode):
        data = UNIT.data

        return run_training(self.namespace, mode, data.batches(self.device), self.device)


def forbidden_in(namespace) -> dict[str, list[str]]:
    """Forbidden built-ins used by the graded functions in `namespace` (read from their source)."""
    nodes = []
    for name, obj in list(namespace.items()):
        if not inspect.isfunction(obj) or name.startswith("_"):
            continue
        try:
            nodes += ast.parse(textwrap.dedent(inspect.getsource(obj))).body
        except (OSError, TypeError, SyntaxError):
            continue
    return forbidden_uses(nodes)
