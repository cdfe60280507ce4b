"""The worker process: defines one submission's functions inside the sandbox and answers requests.

It is forked from a warm fork server that has already imported torch and read Fashion-MNIST
(``multiprocessing``'s forkserver with this module preloaded), so a submission costs a fork, not
a fresh interpreter. It imports nothing that holds answers: no references, no quiz key.
"""

from __future__ import annotations

import ast
import os
import sys
import traceback

import torch
import torch.autograd  # noqa: F401 - imported before the sandbox closes file access
import torch.nn.functional  # noqa: F401
import torch.optim  # noqa: F401
import torch.special  # noqa: F401

from . import config, data, sandbox, wire
from .calls import BuiltinTracer, execute_call, run_training

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def preload():
    """Import and read everything workers share, once, in the fork server (autograder.preload)."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    # No OpenMP thread pool may exist in the fork server: a forked child would deadlock in it.
    torch.set_num_threads(1)
    try:
        import matplotlib.pyplot  # noqa: F401 - the release's Animator imports it

        data.arrays_cpu()
    except Exception:  # noqa: BLE001 - a worker reports a missing data set itself, with the path
        pass


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


def _guarded_classes():
    """Classes whose attributes student code may not change (Python raises no audit event for
    ``torch.Tensor.__eq__ = ...``, so the worker compares them after every request instead)."""
    import numpy

    return [torch.Tensor, torch._C.TensorBase, torch.nn.Module, torch.optim.Optimizer,
            torch.optim.SGD, numpy.ndarray]  # fmt: skip


def _snapshot_classes(classes):
    return [(cls, dict(vars(cls))) for cls in classes]


def _tampered(snapshot):
    """Names of changed attributes of the guarded classes; the originals are put back."""
    changed = []
    for cls, saved in snapshot:
        now = vars(cls)
        for name in set(now) | set(saved):
            if name in saved and name in now and now[name] is saved[name]:
                continue
            changed.append(f"{cls.__module__}.{cls.__qualname__}.{name}")
            try:
                if name in saved:
                    type.__setattr__(cls, name, saved[name])
                else:
                    type.__delattr__(cls, name)
            except (TypeError, AttributeError):
                pass
    return sorted(changed)


def serve(conn, spec):
    """Worker main: confine this process, define the submission, then answer until told to stop."""
    sandbox.detach_session()
    sandbox.close_fds({conn.fileno()})
    sandbox.silence_output()
    os.chdir(spec["scratch"])
    device = spec["device"]
    torch.set_num_threads(max(1, int(spec["threads"])))
    sandbox.set_limits(config.Limits(**spec["limits"]), cuda=device.startswith("cuda"))
    try:
        tracer = BuiltinTracer()
        tracer.install()
        namespace = {"__name__": "__main__", "__builtins__": __builtins__}
        sys.path.insert(0, spec["release_dir"])
        release_errors = _define(namespace, spec["release_source"], "<release notebook>")
        batches = data.batches(device)
        guarded = _snapshot_classes(_guarded_classes())
        sandbox.install_audit_hook(
            spec["scratch"],
            readable=[spec["release_dir"]],
            denied=[PACKAGE_DIR],
            allow_processes=spec["limits"]["processes"] > 0,
        )
        student_errors = _define(namespace, spec["student_source"], "<your notebook>")
        conn.send_bytes(wire.dumps({"op": "ready", "errors": release_errors + student_errors}))
    except BaseException as err:  # noqa: BLE001
        conn.send_bytes(
            wire.dumps(
                {
                    "op": "ready",
                    "fatal": f"{type(err).__name__}: {err}",
                    "trace": traceback.format_exc()[-2000:],
                }
            )
        )
        return
    while True:
        try:
            request = wire.loads(conn.recv_bytes())
        except (EOFError, OSError):
            return
        op = request.get("op")
        if op == "call":
            reply = execute_call(
                namespace,
                request["fn"],
                request["args"],
                tuple(request.get("grad_wrt") or ()),
                request.get("cotangent"),
                tracer,
                request.get("device"),
            )
        elif op == "train":
            reference = None
            if request.get("reference_source"):
                reference = {}
                exec(request["reference_source"], {"torch": torch}, reference)  # noqa: S102 - grader's code
            reply = run_training(namespace, request["mode"], batches, device, reference)
        else:
            return
        changed = _tampered(guarded)
        if changed:
            reply = {
                "ok": False,
                "status": "forbidden",
                "error": f"PermissionError: grading sandbox: modifying {', '.join(changed[:3])} "
                "is not allowed while grading",
            }
        try:
            message = wire.dumps({"op": "reply", "nonce": request.get("nonce"), **reply})
        except (TypeError, ValueError) as err:
            message = wire.dumps(
                {
                    "op": "reply",
                    "nonce": request.get("nonce"),
                    "ok": False,
                    "status": "failed",
                    "error": f"result could not be sent back: {err}",
                }
            )
        conn.send_bytes(message)
