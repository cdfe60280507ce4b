"""The self-check's caller: run the shared checks on functions defined in a notebook kernel.

Only the student-side self-check (selfcheck.py) runs checks in a kernel, on the student's own
machine, and it never judges a grade. Grades, on every path (``grade``, the pytest plugin,
Gradescope, ``nbgrader autograde``), come from the confined workers (autograder/sandbox/).
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from functools import cache

from autograder.submissions.notebook import forbidden_uses
from autograder.units import Unit
from autograder.units import get as unit_of


@cache
def caller_class(unit: Unit) -> type:
    """The in-process Caller of `unit`: its own Caller (how its checks reach student code), with
    its harness's execute_call and run_training called here, on a namespace dict."""
    execute_call, run_training = unit.calls.execute_call, unit.calls.run_training

    class InProcessCaller(unit.caller.Caller):
        """Calls functions from a namespace dict (a notebook's globals) in this process."""

        def __init__(self, namespace, device="cpu"):
            super().__init__(device)
            self.namespace = namespace

        def call(self, fn, args, grad_wrt=(), cotangent=None, device=None):
            args = [a.clone() if hasattr(a, "clone") else a for a in args]
            return execute_call(self.namespace, fn, args, grad_wrt, cotangent, device=device)

        def _train(self, mode):
            data = unit.data.batches(self.device)
            stop = getattr(unit.calls, "StopTraining", None)
            follows = getattr(self, "follows", None)
            if stop is None or not (follows and follows(mode)):
                return run_training(self.namespace, mode, data, self.device)
            stopped = []

            def progress(state):
                """The Caller's judgement of each epoch's end; a run it stops at ends here."""
                run = self.progress(mode, state)
                if run is not None:
                    stopped.append(run)
                    raise stop

            run = run_training(self.namespace, mode, data, self.device, progress=progress)
            return stopped[0] if stopped else run  # stopped, whatever the code did with `stop`

    InProcessCaller.__qualname__ = f"InProcessCaller[{unit.name}]"
    return InProcessCaller


InProcessCaller = caller_class(unit_of())
"""The default assignment's in-process Caller."""


def forbidden_in(namespace, unit: Unit | None = None) -> dict[str, list[str]]:
    """Forbidden built-ins used by the graded functions in `namespace` (read from their source)."""
    nodes = []
    for name, obj in list(namespace.items()):
        if not inspect.isfunction(obj) or name.startswith("_"):
            continue
        try:
            nodes += ast.parse(textwrap.dedent(inspect.getsource(obj))).body
        except (OSError, TypeError, SyntaxError):
            continue
    return forbidden_uses(nodes, unit=unit or unit_of())
