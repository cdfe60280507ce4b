"""The grader's side of a worker: start it, send requests, enforce time and memory, kill it.

Replies are parsed with ``wire.loads`` (JSON only). A worker that hangs, dies or outgrows its
memory cap is killed with its whole process group and reported through ``checks.loop.Aborted``; the
next request starts a fresh worker for the same submission. Its messages are gettext templates
(autograder/i18n), written in the language of the submission being graded.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import tempfile
import time
from dataclasses import asdict

import psutil

from autograder import config, sandbox
from autograder.checks.loop import Aborted
from autograder.i18n import _
from autograder.sandbox import forkserver, wire
from autograder.units.softmax_regression.caller import Caller


def rss_bytes(pid):
    """Resident memory of a process on any platform psutil knows (0 if it is gone)."""
    try:
        return psutil.Process(pid).memory_info().rss
    except (psutil.Error, OSError):
        return 0


class WorkerCaller(Caller):
    """Student code in its own sandboxed worker process (restarted after a crash or timeout)."""

    def __init__(self, extraction, device="cpu", threads=1, limits=config.LIMITS, deadline=None,
                 confine=None, excluded=(), release_dir=None):  # fmt: skip
        super().__init__(device)
        self.extraction, self.threads, self.limits = extraction, threads, limits
        self.confine = (not sandbox.UNCONFINED) if confine is None else confine
        self.excluded = [str(p) for p in excluded]
        self.release_dir = str(release_dir or config.RELEASE_DIR)
        """The edition's release folder: its helpers are the only course files a worker reads."""
        self.confinement: dict = {}
        self.deadline = deadline or (time.monotonic() + limits.submission_seconds)
        self.process = self.conn = self.scratch = None
        self.load_errors: list[str] = []
        self.peak_rss = 0
        self.starts = 0
        self.load_failure = None
        """Why defining the functions failed (hang, crash): that is deterministic, not retried."""

    # -- lifecycle ---------------------------------------------------------------------------
    def _start(self):
        if self.load_failure is not None:
            raise Aborted(*self.load_failure)
        try:
            self._spawn()
        except Aborted as err:
            self.load_failure = (err.status, err.message)
            raise

    def _spawn(self):
        forkserver.ensure_running()
        ctx = forkserver.context()
        self.scratch = tempfile.mkdtemp(prefix="softmax-worker-")
        parent_conn, child_conn = ctx.Pipe(duplex=True)
        spec = {
            "scratch": self.scratch,
            "device": self.device,
            "threads": self.threads,
            "limits": asdict(self.limits),
            "release_dir": self.release_dir,
            "confine": self.confine,
            "excluded": [str(config.COURSE_ROOT), *self.excluded],
            "release_source": self.extraction.release_source,
            "student_source": self.extraction.student_source,
        }
        from autograder.sandbox import worker

        self.process = ctx.Process(target=worker.serve, args=(child_conn, spec), daemon=True)
        self.process.start()
        child_conn.close()
        self.conn = parent_conn
        self.starts += 1
        ready = self._receive(self.limits.load_seconds, _("defining your functions"))
        if ready.get("fatal"):
            self.close()
            error = str(ready["fatal"])[:400]
            raise Aborted("crashed", _("the worker could not start: {error}").format(error=error))
        self.load_errors = [str(e)[:400] for e in (ready.get("errors") or [])[:20]]
        self.confinement = ready.get("confinement") or {}
        if self.confine and not self.confinement.get("confined"):
            self.close()
            raise Aborted("crashed", _("the worker did not confirm its confinement"))

    def close(self):
        """Kill the worker and everything it started; remove its scratch folder."""
        if self.process is not None:
            pid = self.process.pid
            for kill in (os.killpg, os.kill):
                try:
                    kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError, OSError):
                    pass
            self.process.join(timeout=5)
            self.process = None
        if self.conn is not None:
            self.conn.close()
            self.conn = None
        if self.scratch:
            shutil.rmtree(self.scratch, ignore_errors=True)
            self.scratch = None

    # -- requests ----------------------------------------------------------------------------
    def _receive(self, seconds, doing):
        """Wait for one message within `seconds`, polling memory; kill the worker on any failure."""
        seconds = min(seconds, self.deadline - time.monotonic())
        end = time.monotonic() + max(seconds, 0)
        pid = self.process.pid
        while True:
            left = end - time.monotonic()
            if left <= 0:
                self.close()
                if time.monotonic() >= self.deadline:
                    raise Aborted(
                        "timeout",
                        _("the submission used up its {seconds} s time limit while {doing}").format(
                            seconds=f"{self.limits.submission_seconds:.0f}", doing=doing
                        ),
                    )
                raise Aborted(
                    "timeout",
                    _(
                        "{doing} took longer than the {seconds} s time limit (infinite loop?)"
                    ).format(doing=doing, seconds=f"{seconds:.0f}"),
                )
            rss = rss_bytes(pid)
            self.peak_rss = max(self.peak_rss, rss)
            if rss > self.limits.memory_bytes:
                self.close()
                raise Aborted(
                    "memory",
                    _("{doing} used more than {gb} GB of memory").format(
                        doing=doing, gb=f"{self.limits.memory_bytes / 1024**3:.1f}"
                    ),
                )
            try:
                if self.conn.poll(min(left, 0.05)):
                    raw = self.conn.recv_bytes(wire.MAX_MESSAGE_BYTES)
                    return wire.loads(raw)
            except (EOFError, OSError, wire.WireError) as err:
                code = self.process.exitcode if self.process else None
                if self.process is not None:
                    self.process.join(timeout=1)
                    code = self.process.exitcode
                self.close()
                if isinstance(err, wire.WireError):
                    raise Aborted(
                        "crashed",
                        _("the worker sent a malformed reply while {doing}").format(doing=doing),
                    ) from None
                how = _exit_description(code)
                died = _(
                    "the worker process {how} while {doing} (did the code call os._exit, or crash Python?)"
                )
                raise Aborted("memory" if code == -signal.SIGKILL and rss > 0.8 * self.limits.memory_bytes else "crashed",
                              died.format(how=how, doing=doing)) from None  # fmt: skip
            if not self.process.is_alive() and not self.conn.poll(0):
                code = self.process.exitcode
                self.close()
                raise Aborted(
                    "crashed",
                    _("the worker process {how} while {doing}").format(
                        how=_exit_description(code), doing=doing
                    ),
                )

    def _request(self, message, seconds, doing):
        if time.monotonic() >= self.deadline:
            raise Aborted(
                "timeout",
                _("the submission used up its {seconds} s time limit").format(
                    seconds=f"{self.limits.submission_seconds:.0f}"
                ),
            )
        if self.process is None:
            self._start()
        nonce = secrets.token_hex(8)
        try:
            self.conn.send_bytes(wire.dumps({**message, "nonce": nonce}))
        except (OSError, ValueError):
            self.close()
            gone = _("the worker process had exited before {doing}").format(doing=doing)
            raise Aborted("crashed", gone) from None
        reply = self._receive(seconds, doing)
        if reply.get("nonce") != nonce or reply.get("op") != "reply":
            self.close()
            odd = _("the worker sent an unexpected message while {doing}").format(doing=doing)
            raise Aborted("crashed", odd)
        return reply

    def call(self, fn, args, grad_wrt=(), cotangent=None, device=None):
        msg = {
            "op": "call",
            "fn": fn,
            "args": list(args),
            "grad_wrt": list(grad_wrt),
            "cotangent": cotangent,
            "device": device,
        }
        doing = _("running {function}").format(function=fn.lstrip("@"))
        return self._request(msg, self.limits.call_seconds, doing)

    def _train(self, mode):
        msg = {"op": "train", "mode": mode}
        return self._request(msg, self.limits.train_seconds, _("training with train_ch3"))


def _exit_description(code):
    """'exited with code 3' / 'was killed by SIGSEGV'."""
    if code is None:
        return _("stopped answering")
    if code < 0:
        try:
            return _("was killed by {signal}").format(signal=signal.Signals(-code).name)
        except ValueError:
            return _("was killed by signal {number}").format(number=-code)
    return _("exited with code {code}").format(code=code)
