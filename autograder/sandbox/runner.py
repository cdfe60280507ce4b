"""The grader's side of a worker: start it, send requests, enforce time and memory, kill it.

Replies are parsed with ``wire.loads`` (JSON only). A worker that hangs, dies or outgrows its
memory cap is killed with its whole process group and reported through ``checks.loop.Aborted``; the
next request starts a fresh worker for the same submission. Its messages are gettext templates
(autograder/i18n), written in the language of the submission being graded.

The unit graded (autograder/units) travels in each worker's spec, and a WorkerCaller is of the class
built for that unit (``caller_class``): this module names no unit.

A core to spare (fewer workers running in this process than cores, e.g. one submission graded
alone, or the last of a class) buys each training run the checks will ask for (`early_runs`,
declared by the checks) a worker of its own, started beside the first, which meanwhile answers the
other checks: the same code, confinement and limits, each reply judged the same way when its check
asks for that run.
"""

from __future__ import annotations

import functools
import os
import secrets
import signal
import threading
import time
from dataclasses import asdict

import psutil

from autograder import config, sandbox, units
from autograder.checks.loop import Aborted
from autograder.i18n import _
from autograder.sandbox import forkserver, scratch, wire
from autograder.sandbox.limits import available_cores


def rss_bytes(pid):
    """Resident memory of a process on any platform psutil knows (0 if it is gone)."""
    try:
        return psutil.Process(pid).memory_info().rss
    except (psutil.Error, OSError):
        return 0


_live = [0]
_live_lock = threading.Lock()
"""How many workers this process has running (all WorkerCallers): the test for a spare core."""


def spare_cores() -> int:
    """Cores this process may run on that no worker of it is using now."""
    with _live_lock:
        return available_cores() - _live[0]


def unit_of(unit=None, assignment=None) -> units.Unit:
    """The registered unit a WorkerCaller grades: `unit` (a Unit or a unit's name), else the unit of
    nbgrader assignment `assignment`, else config.ASSIGNMENT's. Raises KeyError for an unregistered
    one, ValueError when `unit` and `assignment` disagree."""
    if unit is None:
        return units.get(assignment)
    found = units.by_name(unit.name if isinstance(unit, units.Unit) else unit)
    if assignment is not None and units.get(assignment) is not found:
        raise ValueError(f"assignment {assignment!r} is not graded by unit {found.name!r}")
    return found


@functools.cache
def caller_class(unit: units.Unit) -> type:
    """The WorkerCaller class of `unit`: WorkerCaller on the unit's Caller (units/<name>/caller.py,
    which gives ``train``: each run once, measured by the grader), built once per unit."""
    base = unit.caller.Caller
    return type(
        f"WorkerCaller[{unit.name}]", (WorkerCaller, base), {"unit": unit, "__module__": __name__}
    )


class WorkerCaller:
    """Student code in its own sandboxed worker process (restarted after a crash or timeout).

    ``WorkerCaller(extraction, ..., unit=None, assignment=None)`` makes an instance of
    ``caller_class(unit_of(unit, assignment))``: this class over the unit's Caller, whose
    ``train`` it serves with ``_train``; the unit's name goes into every worker's spec."""

    unit: units.Unit
    """The unit graded (set by caller_class)."""

    def __new__(cls, *args, unit=None, assignment=None, **kwargs):
        if cls is WorkerCaller:
            return super().__new__(caller_class(unit_of(unit, assignment)))
        if (unit is not None or assignment is not None) and unit_of(
            unit, assignment
        ) is not cls.unit:
            raise ValueError(f"{cls.__name__} grades unit {cls.unit.name!r}")
        return super().__new__(cls)

    def __init__(self, extraction, device="cpu", threads=1, limits=config.LIMITS, deadline=None,
                 confine=None, excluded=(), release_dir=None, early_runs=(), unit=None,
                 assignment=None):  # fmt: skip
        """`early_runs`: training modes to start, each in a worker of its own, beside the first
        worker, if two cores are spare then (spare_cores()). `unit` (a Unit or its name) or
        `assignment` (nbgrader's): what is graded (default config.ASSIGNMENT's unit; see
        unit_of); `release_dir` defaults to the release folder of `assignment`, else of the unit's
        first edition (config.ASSIGNMENT when it is one)."""
        super().__init__(device)
        self.assignment = assignment or _edition_of(self.unit)
        self.early_runs = tuple(early_runs)
        self.sides: dict = {}
        """mode -> (WorkerCaller, nonce, sent at) of a run started early, until train() asks."""
        self.side_failures: dict = {}
        """mode -> Aborted args: why its worker was killed before the run was asked for."""
        self._pending: list[bytes] = []
        """Frames read from this worker's pipe before anyone asked (an early run's, _drain)."""
        self.early_started: list[str] = []
        """The modes started early (recorded in the result's info)."""
        self.extraction, self.threads, self.limits = extraction, threads, limits
        self.confine = (not sandbox.UNCONFINED) if confine is None else confine
        self.excluded = [str(p) for p in excluded]
        self.release_dir = str(release_dir or config.release_dir(self.assignment))
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
            early, self.early_runs = self.early_runs, ()  # once: a restarted worker trains as usual
            if self.starts_early(early):
                for mode in early:
                    self._start_early(mode)
            self._spawn()
        except Aborted as err:
            self.load_failure = (err.status, err.message)
            raise

    def starts_early(self, modes) -> bool:
        """Whether to start `modes` early: on the CPU, with two cores spare. (On a GPU the runs are
        short and every worker creates a CUDA context of its own; not measured, so not done.)"""
        return bool(modes) and not self.device.startswith("cuda") and spare_cores() >= 2

    def _start_early(self, mode):
        """Start training `mode` in a worker of its own (defining the code there first: a load
        failure is the same in either worker and is reported once)."""
        side = type(self)(self.extraction, self.device, self.threads, self.limits, self.deadline,
                          self.confine, self.excluded, self.release_dir,
                          assignment=self.assignment)  # fmt: skip
        side._spawn()
        try:
            nonce = side._send(self._train_request(mode), self._training())
        except Aborted:
            side.close()
            return  # the run is then asked of the first worker, as usual
        self.sides[mode] = (side, nonce, time.monotonic())
        self.early_started.append(mode)

    def _spawn(self):
        forkserver.ensure_running()
        ctx = forkserver.context()
        self.scratch = scratch.make()  # under the grader's TMPDIR (forkserver.ensure_running)
        parent_conn, child_conn = ctx.Pipe(duplex=True)
        spec = {
            "unit": self.unit.name,  # the worker imports this unit's harness (worker.harness)
            "scratch": self.scratch,
            "device": self.device,
            "threads": self.threads,
            "limits": asdict(self.limits),
            "release_dir": self.release_dir,
            "confine": self.confine,
            "excluded": [str(config.COURSE_ROOT), *config.UNITS_PATH, *self.excluded],
            "release_source": self.extraction.release_source,
            "student_source": self.extraction.student_source,
        }
        from autograder.sandbox import worker

        self.process = ctx.Process(target=worker.serve, args=(child_conn, spec), daemon=True)
        self.process.start()
        with _live_lock:
            _live[0] += 1
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
        """Kill the worker (and the early runs') and everything they started; remove the scratch."""
        for mode in list(self.sides):
            self._drop_side(mode)
        self._end_worker()

    def _end_worker(self):
        """Kill this worker and everything it started, remove its scratch (early runs go on); the
        next request starts a fresh one."""
        self._pending = []
        if self.process is not None:
            with _live_lock:
                _live[0] -= 1
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
            scratch.remove(self.scratch)  # any depth, names, rights or links; never raises
            self.scratch = None

    def _drop_side(self, mode):
        """Kill the worker of early run `mode`."""
        self._retire(self.sides.pop(mode)[0])

    def _retire(self, side):
        """Kill an early run's worker, keeping its peak memory."""
        side.close()
        self.peak_rss = max(self.peak_rss, side.peak_rss)

    def _watch_sides(self):
        """Watch the early runs while another worker answers: one over the memory cap, or past its
        time limit without a reply, is killed, and its run reported so when a check asks for it."""
        if not self.sides:
            return
        doing = self._training()
        for mode, (side, _nonce, sent) in list(self.sides.items()):
            side._drain()  # a followed run's progress must not fill its pipe and stop it
            rss = rss_bytes(side.process.pid)
            side.peak_rss = max(side.peak_rss, rss)
            if rss > self.limits.memory_bytes:
                self._drop_side(mode)
                self.side_failures[mode] = self._over_memory(doing)
            elif (self._past(sent, self.limits.train_seconds) and not side._pending
                  and not side.conn.poll(0)):  # fmt: skip
                self._drop_side(mode)
                self.side_failures[mode] = self._over_time(sent, self.limits.train_seconds, doing)

    def _training(self) -> str:
        """What a training worker is doing, in the current language (the unit's training_label)."""
        return _(self.unit.training_label)

    def _past(self, since, seconds):
        """Whether the limit of `seconds` from `since` (or the submission's deadline) is over."""
        return time.monotonic() >= min(since + seconds, self.deadline)

    def _over_time(self, since, seconds, doing):
        """(status, message) of a request sent at `since` that outlived its `seconds`."""
        if time.monotonic() >= self.deadline:
            return "timeout", _("the submission used up its {seconds} s time limit while {doing}").format(
                seconds=f"{self.limits.submission_seconds:.0f}", doing=doing)  # fmt: skip
        seconds = min(seconds, self.deadline - since)
        return "timeout", _("{doing} took longer than the {seconds} s time limit (infinite loop?)").format(
            doing=doing, seconds=f"{seconds:.0f}")  # fmt: skip

    def _over_memory(self, doing):
        """(status, message) of a worker that outgrew the memory cap."""
        return "memory", _("{doing} used more than {gb} GB of memory").format(
            doing=doing, gb=f"{self.limits.memory_bytes / 1024**3:.1f}")  # fmt: skip

    def _drain(self):
        """Read the whole frames this worker has sent, without waiting; they wait in _pending for
        _receive (a broken frame is left where it is, for _receive to read and report)."""
        reader = self._frames()
        try:
            while sum(map(len, self._pending)) < config.PENDING_BYTES:
                if (raw := reader.pump(0)) is None:
                    break
                self._pending.append(raw)
        except (EOFError, OSError, wire.WireError):
            pass

    # -- requests ----------------------------------------------------------------------------
    def _frames(self) -> wire.FrameReader:
        """The frame reader of the current worker's pipe (made non-blocking on first use): the
        grader never waits on a worker without a deadline (wire.FrameReader, wire.write_frame)."""
        reader = getattr(self, "_reader", None)
        if reader is None or reader[0] is not self.conn:
            os.set_blocking(self.conn.fileno(), False)
            reader = self._reader = (self.conn, wire.FrameReader(self.conn.fileno()))
        return reader[1]

    def _receive(self, seconds, doing, since=None, watch=None):
        """Wait for one message within `seconds` (counted from `since`, default now), polling
        memory (this worker's, and the early runs of `watch`, default self); kill the worker on
        any failure. A reply must be whole within config.REPLY_GRACE_SECONDS of its first byte
        (and of the limit, when it began before the limit was over); one still incomplete then,
        or one announced over wire.MAX_MESSAGE_BYTES, kills the worker (crashed)."""
        watch = watch or self
        since = time.monotonic() if since is None else since
        end = min(since + seconds, self.deadline)
        grace_end = max(end, time.monotonic()) + config.REPLY_GRACE_SECONDS
        if self._pending:  # read earlier by _drain: it arrived in time
            try:
                return wire.loads(self._pending.pop(0))
            except wire.WireError as err:
                self._fail_read(err, 0, doing)
        pid = self.process.pid
        reader = self._frames()
        while True:
            watch._watch_sides()
            now = time.monotonic()
            left = end - now
            # A reply already waiting counts as in time: an early run's may have waited for the
            # check that asks for it (its limit is enforced meanwhile by _watch_sides).
            if left <= 0 and (now >= grace_end or not (reader.started or self.conn.poll(0))):
                self._fail_late(reader, since, seconds, doing)
            if reader.started and now - reader.since > config.REPLY_GRACE_SECONDS:
                self._fail_late(reader, since, seconds, doing)  # a frame begun must not stall
            rss = rss_bytes(pid)
            self.peak_rss = max(self.peak_rss, rss)
            if rss > self.limits.memory_bytes:
                self.close()
                raise Aborted(*self._over_memory(doing))
            try:
                raw = reader.pump(min(max(left, 0), 0.05))
                if raw is not None:
                    return wire.loads(raw)
            except (EOFError, OSError, wire.WireError) as err:
                self._fail_read(err, rss, doing)
            if not self.process.is_alive() and not self.conn.poll(0):
                code = self.process.exitcode
                self.close()
                raise Aborted(
                    "crashed",
                    _("the worker process {how} while {doing}").format(
                        how=_exit_description(code), doing=doing
                    ),
                )

    def _fail_late(self, reader, since, seconds, doing):
        """Kill the worker whose reply is late: none came, or it stopped part way."""
        partial = reader.started
        self.close()
        if partial:
            raise Aborted(
                "crashed",
                _("the worker sent an incomplete reply and stopped while {doing}").format(
                    doing=doing
                ),
            )
        raise Aborted(*self._over_time(since, seconds, doing))

    def _fail_read(self, err, rss, doing):
        """Kill the worker after a failed read: the pipe closed, or the reply broke the format."""
        code = self.process.exitcode if self.process else None
        if self.process is not None:
            self.process.join(timeout=1)
            code = self.process.exitcode
        self.close()
        if isinstance(err, wire.FrameTooLarge):
            raise Aborted(
                "crashed",
                _("the worker sent a reply over the {mb} MB limit while {doing}").format(
                    mb=wire.MAX_MESSAGE_BYTES // 1024**2, doing=doing
                ),
            ) from None
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

    def _send(self, message, doing):
        """Send one request (starting the worker if needed); return its nonce. A worker that does
        not take it within the call limit (it stopped reading) is killed."""
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
        by = min(time.monotonic() + self.limits.call_seconds, self.deadline)
        try:
            self._frames()  # the pipe non-blocking
            sent = wire.write_frame(self.conn.fileno(), wire.dumps({**message, "nonce": nonce}), by)
        except (OSError, ValueError):
            self.close()
            gone = _("the worker process had exited before {doing}").format(doing=doing)
            raise Aborted("crashed", gone) from None
        if not sent:
            self.close()
            stuck = _("the worker stopped reading requests before {doing}").format(doing=doing)
            raise Aborted("timeout", stuck)
        return nonce

    def _request(self, message, seconds, doing, on_progress=None):
        return self._reply(self._send(message, doing), seconds, doing, on_progress=on_progress)

    def _reply(self, nonce, seconds, doing, since=None, watch=None, on_progress=None):
        """The reply to request `nonce`, within `seconds` of `since` (default now).

        A followed run (`on_progress`, the unit's Caller.progress for its mode) sends a "progress"
        message at each epoch's end; the first for which on_progress returns a run ends it: the
        worker is killed (whatever its code does next) and that run is the reply."""
        since = time.monotonic() if since is None else since
        reports = 0
        while True:
            reply = self._receive(seconds, doing, since, watch)
            if on_progress is None or reply.get("op") != "progress" or reply.get("nonce") != nonce:
                break
            reports += 1
            if reports > config.PROGRESS_MESSAGES:
                break  # more than any run reports: unexpected, below
            run = on_progress(reply)
            if run is not None:
                self._end_worker()
                return {**run, "op": "reply", "nonce": nonce}
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
        reply = self._request(msg, self.limits.call_seconds, doing)
        if reply.pop("threads_left", None):
            # Threads the call started still run: they would slow every later call in this
            # worker (a spinning thread takes its share of the GIL). The next request starts a
            # fresh worker; what the worker says here can only cost its own submission time.
            self._end_worker()
        return reply

    def _follows(self, mode) -> bool:
        """Whether run `mode` is followed epoch by epoch: the unit's Caller says so with
        ``follows(mode)``, and judges each epoch's end with ``progress(mode, state)`` (a unit
        whose Caller has neither runs each run to its end)."""
        follows = getattr(self, "follows", None)
        return bool(follows and follows(mode))

    def _train_request(self, mode):
        """The request of training run `mode` (followed: see _follows)."""
        return {"op": "train", "mode": mode, **({"progress": True} if self._follows(mode) else {})}

    def _train(self, mode):
        doing = self._training()
        follow = functools.partial(self.progress, mode) if self._follows(mode) else None
        if mode in self.side_failures:
            raise Aborted(*self.side_failures.pop(mode))
        if mode in self.sides:
            side, nonce, sent = self.sides.pop(mode)  # the other early runs are watched meanwhile
            try:  # its time limit counts from when it was sent, as if it had been sent now
                return side._reply(nonce, self.limits.train_seconds, doing, since=sent, watch=self,
                                   on_progress=follow)  # fmt: skip
            finally:
                self._retire(side)
        return self._request(
            self._train_request(mode), self.limits.train_seconds, doing, on_progress=follow
        )


def _edition_of(unit: units.Unit) -> str:
    """The nbgrader assignment whose release a worker of `unit` reads by default: config.ASSIGNMENT
    when it is one of the unit's, else the unit's first."""
    editions = units.assignments_of(unit)
    return config.ASSIGNMENT if config.ASSIGNMENT in editions else editions[0]


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
