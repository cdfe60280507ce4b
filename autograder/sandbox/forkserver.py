"""The warm fork server that every worker is forked from: torch and the units' data loaded once.

Beside it, in the grading process, ``start(units=...)`` reads the data of the units being graded
and computes their reference runs (``prepare``); nothing here names a unit.
"""

from __future__ import annotations

import atexit
import contextlib
import multiprocessing
import os
import signal
import tempfile
import threading
import time
from multiprocessing import util

from autograder.sandbox import scratch
from autograder.sandbox.limits import available_cores

PRELOAD = ["autograder.sandbox.preload", "matplotlib.pyplot", "autograder.sandbox.preload_optim"]
"""Modules the fork server imports before it forks anyone (never imported by the grader itself).
``start(preload=...)`` replaces the optional ones (after the first) by those the submissions to
grade import: matplotlib and torchvision cost seconds, and the assignment itself needs neither
outside a notebook (its Animator only records points when no IPython kernel runs), and the grader's
own updater never imports torch._dynamo, which torch.optim's first use does (preload_optim)."""

OPTIONAL = {
    "matplotlib": "matplotlib.pyplot",
    "torchvision": "torchvision",
    "torch.optim": "autograder.sandbox.preload_optim",
}
"""Top-level modules a submission may import (and ``torch.optim``, for code that mentions
``optim``: collect.imported_modules) -> what the fork server then preloads for it."""

_lock = threading.Lock()
_context = None


def context():
    """The multiprocessing context: a fork server that has run PRELOAD, or spawn where none exists."""
    global _context
    with _lock:
        if _context is None:
            if "forkserver" in multiprocessing.get_all_start_methods():
                os.environ.setdefault("MPLBACKEND", "Agg")
                _context = multiprocessing.get_context("forkserver")
                _context.set_forkserver_preload(PRELOAD)
            else:
                _context = multiprocessing.get_context("spawn")
    return _context


_env_lock = threading.Lock()


def ensure_running() -> None:
    """Start the fork server (once) with a minimal environment: no secret reaches a worker.

    A process's environment is fixed when it is executed (``/proc/<pid>/environ`` shows the
    original), so the fork server is launched while os.environ holds only the safe variables.
    """
    if context().get_start_method() != "forkserver":
        return
    from multiprocessing import forkserver

    from autograder.sandbox.policy import minimal_environment

    _workers_skip_main()

    with _env_lock:
        # Temp folders first, while TMPDIR (the instructor's choice) is still set: the scratch
        # folders (tempfile caches its choice) and multiprocessing's, which holds the fork
        # server's listening socket. stop() removes both.
        tempfile.gettempdir()
        _mp_temp_dir()
        saved = dict(os.environ)
        try:
            os.environ.clear()
            os.environ.update(minimal_environment(saved))
            forkserver.ensure_running()
        finally:
            os.environ.clear()
            os.environ.update(saved)
        if not _stop_registered:
            _stop_registered.append(atexit.register(stop))


def _workers_skip_main() -> None:
    """Keep workers from running the grading process's main script again.

    multiprocessing prepares each child by importing the parent's ``__main__``: by module name
    for ``python -m autograder`` or ``python -m pytest`` (a ``__main__`` module, skipped), but by
    path for a console script, where it runs the whole script's imports in every worker before
    its code starts: 5 s of ``nbgrader.apps`` per worker under ``nbgrader autograde``, and code no
    worker needs before it is confined. A console script (an installed entry point: a file
    without ``.py``) defines no worker target, so its ``__main__``, which has no spec, is named
    ``__main__``, which multiprocessing skips as it does for ``-m``. A ``.py`` script may define
    the targets its workers run, so it is left alone.
    """
    import importlib.machinery
    import sys

    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None) or ""
    if path and getattr(main, "__spec__", None) is None and not path.endswith(".py"):
        main.__spec__ = importlib.machinery.ModuleSpec("__main__", None)


_stop_registered: list = []
STOP_WAIT_SECONDS = 5
"""How long stop() waits for a process it has killed (or asked to exit) to be reaped."""


def stop() -> None:
    """Stop what ensure_running started, once grading ends: kill the fork server and any worker it
    still has, reap it and multiprocessing's resource tracker (nothing is left for pid 1 to adopt),
    and remove multiprocessing's temp folder and every scratch folder left. Safe to call twice;
    a later ensure_running starts afresh. (``grade``, the pytest plugin and the interpreter's exit
    call it; Gradescope and Classroom grade through ``grade``.)"""
    if not _stop_registered:  # nothing started here (a no-op rerun of grade imports nothing)
        return
    from multiprocessing import forkserver, resource_tracker

    with _env_lock:
        server = forkserver._forkserver
        pid = getattr(server, "_forkserver_pid", None)
        if pid is not None:
            _kill_tree(pid)
            _close(server, "_forkserver_alive_fd")
            _reap(pid)
            address = server._forkserver_address
            server._forkserver_pid = server._forkserver_address = None
            if address and not util.is_abstract_socket_namespace(address):
                with contextlib.suppress(OSError):
                    os.unlink(address)
            tracker = resource_tracker._resource_tracker
            tracker_pid = getattr(tracker, "_pid", None)
            if tracker_pid is not None:
                _close(tracker, "_fd")  # its main() exits once no process holds the pipe
                if not _reap(tracker_pid, STOP_WAIT_SECONDS):
                    _kill_tree(tracker_pid)
                    _reap(tracker_pid)
                tracker._pid = None
        _remove_mp_temp_dir()
        scratch.remove_all()


def _kill_tree(pid: int) -> None:
    """SIGKILL process `pid`, then its children (their process groups too: workers lead one)."""
    import psutil

    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        children = []
    for target in (pid, *(c.pid for c in children)):
        with contextlib.suppress(OSError):
            os.kill(target, signal.SIGKILL)
    for child in children:
        with contextlib.suppress(OSError):
            os.killpg(child.pid, signal.SIGKILL)


def _close(owner, attribute: str) -> None:
    """Close the descriptor `owner.<attribute>` (if any) and forget it."""
    fd = getattr(owner, attribute, None)
    if fd is not None:
        with contextlib.suppress(OSError):
            os.close(fd)
        setattr(owner, attribute, None)


def _reap(pid: int, seconds: float = STOP_WAIT_SECONDS) -> bool:
    """Wait (at most `seconds`) for this process's child `pid` to exit; whether it was reaped."""
    end = time.monotonic() + seconds
    while True:
        try:
            done, _status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return True
        if done:
            return True
        if time.monotonic() >= end:
            return False
        time.sleep(0.005)


SOCKET_PATH_MAX = 107
"""The longest path a unix socket can be bound to (sun_path holds 108 bytes with the NUL)."""


def _mp_temp_dir() -> str:
    """multiprocessing's temp folder (it holds the fork server's listening socket), made under the
    grader's TMPDIR, or under /tmp where TMPDIR is too long for a socket's path."""
    config = multiprocessing.process.current_process()._config
    if config.get("tempdir") is None:
        base = tempfile.gettempdir()
        if len(os.path.join(base, "pymp-12345678", "listener-12345678")) > SOCKET_PATH_MAX:
            base = "/tmp"
        config["tempdir"] = tempfile.mkdtemp(prefix="pymp-", dir=base)
    return config["tempdir"]


def _remove_mp_temp_dir() -> None:
    """Remove multiprocessing's temp folder (pymp-*) now, and forget it: ``os._exit`` (``grade``)
    skips any finalizer that would remove it."""
    config = multiprocessing.process.current_process()._config
    path = config.get("tempdir")
    if not path:
        return
    for finalizer in list(util._finalizer_registry.values()):
        if path in (getattr(finalizer, "_args", None) or ()):
            finalizer.cancel()
    config["tempdir"] = None
    scratch.remove(path)


def start(preload=None, units=None) -> None:
    """Launch the fork server and, in this process, read the data of `units` and run their
    reference runs (``prepare``), all in the background; returns at once (on one core: once the
    fork server is ready), and only the first call starts anything (a later one prepares the
    `units` not prepared yet).

    Call it first thing once there is something to grade: the fork server's imports (torch)
    and data, this process's own ``import torch``, its copy of the data set (the grader
    measures accuracy itself) and its reference SGD runs then load side by side on two cores
    instead of one after another. `preload`: the optional modules the fork server imports besides
    PRELOAD[0] (default: all of PRELOAD), e.g. ``optional_preload(imported)`` for the top-level
    modules the submissions to grade import (collect.imported_modules). `units`: the units
    (autograder.units.Unit) this process grades; default: those ``prepare`` was given before,
    else config.ASSIGNMENT's.
    """
    global _started
    with _lock:
        again = _started is not None
        if not again:
            _started = time.monotonic()
            pending, _pending[:] = list(_pending), []
    if again:
        _prepare(units or ())
        return
    ctx = context()
    if ctx.get_start_method() == "forkserver" and preload is not None:
        ctx.set_forkserver_preload([PRELOAD[0], *preload])
    ensure_running()
    if available_cores() < 2:
        # One core: this process's own imports wait for the fork server's. Two `import torch`
        # time-sliced on one core took about 1 s longer than one after the other (12.5 s against
        # 13.4 s for a cold submission, medians of 7; docs/benchmarks.md).
        _wait_ready()
    else:
        threading.Thread(target=_wait_ready, name="forkserver-ready", daemon=True).start()
    if units is None and not pending:
        from autograder.units import get

        units = [get()]
    _prepare([*pending, *(units or ())])


def prepare(unit) -> None:
    """Have this process read `unit`'s data and compute its reference runs (the unit's
    ``reference_runs``, ``references.sgd_run``) in the background, beside the fork server: once
    per unit. Before start(), `unit` waits for it (start() prepares it instead of its default)."""
    with _lock:
        if _started is None:
            if all(u.name != unit.name for u in _pending):
                _pending.append(unit)
            return
    _prepare([unit])


_pending: list = []
"""Units prepare() was given before start()."""
_prepared: set[str] = set()
"""The names of the units whose data and reference runs this process has started on."""


def _prepare(units) -> None:
    """Start one thread reading the data of those of `units` not prepared yet, then their runs."""
    new = []
    with _lock:
        for unit in units:
            if unit.name not in _prepared:
                _prepared.add(unit.name)
                new.append(unit)
    if new:
        # Not a daemon: torch code still running in a daemon thread when the interpreter exits (a
        # blank submission never asks for the reference runs) aborts the process (std::terminate).
        threading.Thread(
            target=_read_data, args=(new,), name="forkserver-data", daemon=False
        ).start()


def optional_preload(imported) -> list[str]:
    """What the fork server preloads for submissions whose code imports the modules `imported`."""
    return sorted(OPTIONAL[name] for name in set(imported) & set(OPTIONAL))


_started = None
_ready = None
READY_WAIT_SECONDS = 120
"""The reference runs start after the fork server's first fork, or after this long at most."""


def started() -> bool:
    """Whether start() ran in this process (torch and the reference runs are then loading)."""
    return _started is not None


def ready_at() -> float | None:
    """When (time.monotonic) the fork server could first fork a worker, if start() launched it."""
    return _ready


def ready_after() -> float | None:
    """Seconds from start() until the fork server could fork a worker (None: not yet, or never
    started by start()). Progress estimates leave this one-off wait out of the time per student."""
    return None if _ready is None or _started is None else _ready - _started


def _wait_ready() -> None:
    """Fork a child that exits at once: the fork server answers only once its preload is done."""
    global _ready
    try:
        child = context().Process(target=os.getpid, daemon=True)
        child.start()
        _ready = time.monotonic()
        _ready_event.set()
        child.join(30)
    except Exception:  # noqa: BLE001 - only a progress estimate depends on it
        pass
    finally:
        _ready_event.set()


_ready_event = threading.Event()


def _read_data(units) -> None:
    """Read the data of `units` (``data.arrays_cpu()``), then, once the fork server is ready, run
    the reference runs of those whose data was read."""
    read = []
    for unit in units:
        try:
            data = unit.optional("data")
            if hasattr(data, "arrays_cpu"):
                data.arrays_cpu()
            read.append(unit)
        except Exception:  # noqa: BLE001 - the check that needs the data reports a missing data set
            pass
    # Started before the fork server is ready, the reference runs would slow its start on a
    # 2-core machine. After it, they run beside the worker's first checks and training, which
    # needs one core, and are done before the training checks ask for them.
    _ready_event.wait(READY_WAIT_SECONDS)
    for unit in read:
        try:
            for mode in unit.reference_runs:  # what its training checks compare with
                if _exiting.is_set():
                    return
                unit.references.sgd_run(mode)
        except Exception:  # noqa: BLE001 - the check that needs a run computes it (and reports)
            pass


_exiting = threading.Event()
"""Set when the interpreter exits: the reference runs nobody asked for are not started."""


def _on_exit() -> None:
    """Before Python joins the threads left running at exit: start no further reference run (a
    process that graded only blank work, e.g. one ``nbgrader autograde`` step, waited up to 20 s
    on a loaded machine for runs no check asked for)."""
    _exiting.set()
    _ready_event.set()


# threading's own exit hook runs before non-daemon threads are joined (atexit runs after).
getattr(threading, "_register_atexit", atexit.register)(_on_exit)
