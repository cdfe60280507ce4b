"""The worker's audit hook and import guard: at run time, student code cannot reach frames, gc, ctypes or pickle.

Defence in depth behind the static gate (submissions/reach.py), armed in the worker after the
harness is set up and confined, right before the student's code is defined (sandbox/worker.py).
A refused event raises ``Refused``, a PermissionError (status "forbidden") that is also a
ValueError: the standard library's callers of ``sys._getframe`` (logging, typing,
collections.namedtuple) catch ValueError and carry on. Once added, a hook cannot be removed.
"""

from __future__ import annotations

import builtins
import sys
import traceback


class Refused(PermissionError, ValueError):
    """An event the grading sandbox refuses to student code."""


REFUSED_EVENTS = frozenset({
    "sys._getframe", "sys._current_frames", "sys._current_exceptions", "sys.settrace",
    "sys.setprofile", "sys.addaudithook", "gc.get_objects", "gc.get_referrers",
    "gc.get_referents", "pickle.find_class", "sys.monitoring.register_callback",
})  # fmt: skip
"""Audit events that hand out frames, the heap or any global by name (every ``ctypes.*`` too)."""

FRAME_ATTRIBUTES = frozenset({"tb_frame", "gi_frame", "cr_frame", "ag_frame"})
"""Attribute reads CPython audits as ``object.__getattr__`` that give a frame (``__code__``
reads are audited too, and torch needs them: allowed)."""


STACK_TEXT = frozenset({traceback.format_stack.__code__, traceback.extract_stack.__code__})
"""sys._getframe is allowed to these two, which give text, not frames: torch's CPU workers call
``torch.cuda``'s lazy seeding (``torch.manual_seed``), which keeps ``traceback.format_stack()``."""


def _hook(event: str, args: tuple) -> None:
    """Refuse the events above; every other event passes."""
    if event == "sys._getframe" and args and getattr(args[0], "f_code", None) in STACK_TEXT:
        return
    if event in REFUSED_EVENTS or event.startswith("ctypes."):
        raise Refused(f"the grading sandbox refuses {event}")
    if event == "object.__getattr__" and len(args) > 1 and args[1] in FRAME_ATTRIBUTES:
        raise Refused(f"the grading sandbox refuses reading {args[1]}")
    if event == "object.__setattr__" and len(args) > 1 and args[1] == "__code__":
        raise Refused("the grading sandbox refuses replacing __code__")


_armed = [False]


def arm() -> None:
    """Add the hook to this process (once); from now on the events above raise Refused."""
    if not _armed[0]:
        sys.addaudithook(_hook)
        _armed[0] = True


def armed() -> bool:
    """Whether this process's hook is in place."""
    return _armed[0]


GRADER_PACKAGE = "autograder"
"""Its modules are cached in the worker (an import of a cached module raises no audit event)."""


def student_builtins() -> dict:
    """A copy of the built-ins whose ``__import__`` refuses the grader's own package.

    Only that package (and relative imports): torch's C++ code imports its private modules
    (``torch._library``...) through the built-ins of the Python frame on top, which may be the
    student's, so the gate's other import rules stay static (submissions/reach.py), beside the
    hook's events."""
    real_import = builtins.__import__

    def guarded_import(name, globals=None, locals=None, fromlist=(), level=0):
        if level or name.split(".")[0] == GRADER_PACKAGE:
            raise Refused(f"the grading sandbox refuses importing {name}")
        return real_import(name, globals, locals, fromlist, level)

    names = dict(vars(builtins))
    names["__import__"] = guarded_import
    return names
