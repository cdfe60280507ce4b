"""The worker process: defines one submission's functions inside the sandbox and answers requests.

It is forked from a warm fork server that has already imported torch and, for every registered
unit, its harness and the training images and visible test images (``multiprocessing``'s forkserver
with ``autograder.sandbox.preload``), so a submission costs a fork, not a fresh interpreter.

The unit travels in the request: the spec names it (``spec["unit"]``), and the worker imports that
unit's ``calls`` and ``data`` (``harness``), and nothing that holds answers (no checks, references
or quiz key), then confines itself with ``sandbox.confine`` before any student code is defined.
This module names no unit. Replies are raw data; the grader judges them.
"""

from __future__ import annotations

import ast
import os
import random
import sys
import threading
import traceback

import torch
import torch.autograd  # noqa: F401 - imported before the sandbox closes file access
import torch.nn.functional  # noqa: F401
import torch.optim  # noqa: F401
import torch.special  # noqa: F401
import torch.utils._python_dispatch  # noqa: F401

from autograder import config, sandbox, units
from autograder.sandbox import audit, wire
from autograder.sandbox import limits as os_limits

_active_count = threading.active_count  # bound before any student code could replace it


def preload():
    """Import and read everything workers share, once, in the fork server (autograder.sandbox.preload):
    every registered unit's harness (``calls``) and data (``data.worker_arrays()``, where its data
    module has one)."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    # No OpenMP thread pool may exist in the fork server: a forked child would deadlock in it.
    torch.set_num_threads(1)
    # matplotlib: forkserver.PRELOAD (or only for submissions that import it)
    for unit in units.every():
        try:
            unit.calls  # noqa: B018 - imported here once, not in every worker
            data = unit.optional("data")
            if hasattr(data, "worker_arrays"):
                data.worker_arrays()
        except Exception:  # noqa: BLE001 - a worker reports a missing data set itself, with the path
            pass


def harness(name):
    """(execute_call, run_training, worker_arrays, batches) of the unit registered as `name`
    (config.UNITS): its ``calls`` and ``data``, imported now, before the worker confines itself.

    Raises LookupError for anything else (not a string, or no registered unit's name): the spec
    chooses among the registered units only, never a module by path."""
    if not isinstance(name, str):
        raise LookupError(f"the request names no unit (got {type(name).__name__})")
    try:
        unit = units.by_name(name)
    except KeyError:
        raise LookupError(f"no unit {name[:80]!r} is registered (config.UNITS)") from None
    calls, data = unit.calls, unit.optional("data")
    if data is None:  # a unit without data (nothing to train on)
        return calls.execute_call, calls.run_training, tuple, _no_batches
    return calls.execute_call, calls.run_training, data.worker_arrays, data.batches


def _no_batches(device, arrays_=None):
    """The training data of a unit that has none."""
    return None


def _define(namespace, source, filename):
    """Execute top-level definitions one by one; return the errors (one line each)."""
    errors = []
    for node in ast.parse(source).body:
        try:
            exec(compile(ast.Module(body=[node], type_ignores=[]), filename, "exec"), namespace)
        except BaseException as err:  # noqa: BLE001 - a bad definition costs only itself
            line = getattr(node, "lineno", "?")
            errors.append(f"{type(err).__name__} while defining line {line}: {str(err)[:300]}")
    return errors


def _private_folders(scratch):
    """Point every per-user folder a library might write (home, temp, caches) at scratch."""
    for name in ("HOME", "TMPDIR", "MPLCONFIGDIR", "XDG_CACHE_HOME", "TORCH_HOME"):
        os.environ[name] = scratch
    import tempfile

    tempfile.tempdir = scratch


def _progress(channel, request):
    """The function a followed run calls with its state: one "progress" message to the grader, with
    the request's nonce (a state that cannot be encoded is not sent; the final reply says why)."""
    nonce = request.get("nonce")

    def progress(state):
        try:
            message = wire.frame(wire.dumps({**state, "op": "progress", "nonce": nonce}))
        except (TypeError, ValueError):
            return
        channel.write(message)

    return progress


def serve(conn, spec):
    """Worker main: confine this process, define the submission, then answer until told to stop.

    The harness of the unit `spec["unit"]` names (``harness``) is imported and bound here, before
    the worker confines itself (its file access is closed then, the course folder excluded) and
    before any student code runs: replacing a module's globals later changes nothing, and the
    audit hook (sandbox/audit.py) is armed before the student's definitions run. A spec naming no
    registered unit is refused (a fatal "ready")."""
    channel = wire.Channel(conn.fileno())  # sealed: see wire's docstring
    try:
        call, train, worker_arrays, batches = harness(spec.get("unit"))
    except Exception as err:  # noqa: BLE001 - refused: no student code has been defined
        channel.send({"op": "ready", "fatal": f"{type(err).__name__}: {err}"[:400], "trace": ""})
        return
    os_limits.detach_session()
    os_limits.close_fds({conn.fileno()})
    os_limits.silence_output()
    os.chdir(spec["scratch"])
    _private_folders(spec["scratch"])
    device = spec["device"]
    torch.set_num_threads(max(1, int(spec["threads"])))
    os_limits.set_limits(config.Limits(**spec["limits"]), cuda=device.startswith("cuda"))
    os_limits.first_to_go()
    try:
        namespace = {"__name__": "__main__", "__builtins__": __builtins__}
        sys.path.insert(0, spec["release_dir"])
        release_errors = _define(namespace, spec["release_source"], "<release notebook>")
        on_device = tuple(t.to(device) for t in worker_arrays())
        if device.startswith("cuda"):
            torch.zeros(1, device=device).sum().item()  # create the CUDA context before confining
        confinement = {"confined": False}
        if spec.get("confine", True):
            confinement = sandbox.confine(
                spec["scratch"],
                readable=[spec["release_dir"]],
                excluded=spec.get("excluded", ()),
                device=device,
                allow_processes=spec["limits"]["processes"] > 0,
            )
        namespace["__builtins__"] = audit.student_builtins()
        audit.arm()
        student_errors = _define(namespace, spec["student_source"], "<your notebook>")
        channel.send(
            {"op": "ready", "errors": release_errors + student_errors, "confinement": confinement}
        )
        threads = _active_count()  # with any the student's definitions started
    except BaseException as err:  # noqa: BLE001
        channel.send(
            {
                "op": "ready",
                "fatal": f"{type(err).__name__}: {err}",
                # once armed, a traceback's frames are refused: the first line is enough
                "trace": "" if audit.armed() else traceback.format_exc()[-2000:],
            }
        )
        return
    while True:
        try:
            request = channel.recv()
        except (EOFError, OSError, wire.WireError):
            return
        op = request.get("op")
        if op == "call":
            reply = call(
                namespace,
                request["fn"],
                request["args"],
                tuple(request.get("grad_wrt") or ()),
                request.get("cotangent"),
                request.get("device"),
            )
            left = _active_count() - threads
            if left > 0:  # the call left threads running: the grader restarts this worker
                reply = {**reply, "threads_left": left}
        elif op == "train":
            # Fresh batches for every run: each starts from the seeded order, as the grader's does.
            train_iter = batches(device, arrays_=on_device)
            # Random numbers the student's code draws start from the same state in every run,
            # whatever ran before in this worker: a run started early in a fresh worker
            # (runner.py) and one after the other checks give the same parameters.
            torch.manual_seed(config.SEED)
            random.seed(config.SEED)
            # A run the grader follows tells it how it stands at each epoch's end (the unit's
            # harness calls `progress`); the grader may then stop it (runner.WorkerCaller._reply).
            follow = {"progress": _progress(channel, request)} if request.get("progress") else {}
            reply = train(namespace, request["mode"], train_iter, device, **follow)
        else:
            return
        try:
            message = wire.frame(
                wire.dumps({"op": "reply", "nonce": request.get("nonce"), **reply})
            )
        except (TypeError, ValueError) as err:
            message = wire.frame(
                wire.dumps(
                    {
                        "op": "reply",
                        "nonce": request.get("nonce"),
                        "ok": False,
                        "status": "failed",
                        "error": f"result could not be sent back: {str(err)[:300]}",
                    }
                )
            )
        channel.write(message)
