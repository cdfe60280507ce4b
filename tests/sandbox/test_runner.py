"""The grader's side of a worker (autograder/sandbox/runner.py): an early run, started in a worker of
its own when cores are spare, is the same run, under the same limits, as the one the first worker
would have trained, and it never outlives its submission."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time

import psutil
import pytest
import torch
from helpers.impls import BASE

from autograder import config
from autograder.checks.loop import Aborted
from autograder.grading import grader
from autograder.sandbox import runner
from autograder.submissions.notebook import Extraction

HANGS = (
    BASE
    + "\ndef train_ch3(net, train_iter, test_iter, loss, num_epochs, updater):\n    while True:\n        pass\n"
)
HOG = BASE + (
    "\ndef train_ch3(net, train_iter, test_iter, loss, num_epochs, updater):\n"
    "    import time\n"
    "    hog = torch.ones(2 ** 28)  # 1 GiB\n"
    "    time.sleep(60)\n"
)  # fmt: skip


def extraction(source: str) -> Extraction:
    """The code a worker would define for a notebook whose graded cells hold `source`."""
    return Extraction(release_source="", student_source=source)


@pytest.fixture
def cores(monkeypatch):
    """Set how many cores the runner believes it has."""

    def set_cores(n):
        monkeypatch.setattr(runner, "available_cores", lambda: n)

    return set_cores


def _live_now():
    return runner._live[0]


@contextlib.contextmanager
def started(source, early_runs, **limits):
    """A started WorkerCaller for `source` with `early_runs` and Limits fields `limits`; closed after."""
    caller = runner.WorkerCaller(extraction(source), early_runs=early_runs,
                                 limits=dataclasses.replace(config.LIMITS, **limits))  # fmt: skip
    try:
        caller._start()
        yield caller
    finally:
        caller.close()


def answer_checks_while_early_runs_last(caller, seconds):
    """Let the first worker answer calls until no early run is left (or `seconds` pass)."""
    end = time.monotonic() + seconds
    while caller.sides and time.monotonic() < end:
        reply = caller.call("softmax", [torch.zeros(2, 3)])
        assert reply.get("ok"), reply
    return not caller.sides


def gone(pid):
    """Whether process `pid` has ended (a zombie not yet reaped counts)."""
    return not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie"


THREADS = BASE + (
    "\nimport threading\nimport time\n\n\n"
    "def accuracy(y_hat, y):\n"
    "    threading.Thread(target=time.sleep, args=(60,), daemon=True).start()\n"
    "    return torch.tensor(float(threading.active_count()))\n"
)  # fmt: skip


def test_a_call_that_leaves_a_thread_running_is_followed_by_a_fresh_worker():
    """A thread the student's call started and left running (a spinning one takes its share of
    the GIL from every later call) goes with its worker: the next call runs in a fresh one
    (variant: the grader ignores threads_left, and the second call sees two threads left)."""
    y_hat, y = torch.tensor([[0.1, 0.9]]), torch.tensor([1])
    with started(THREADS, []) as caller:
        first = caller.call("accuracy", [y_hat, y])
        assert caller.starts == 1 and caller.process is None  # ended after the call
        second = caller.call("accuracy", [y_hat, y])
        assert caller.starts == 2
        assert "threads_left" not in first and "threads_left" not in second
        assert first["value"] == second["value"]  # the same count in a fresh worker
        for _ in range(2):  # a call that leaves no thread keeps its worker
            assert caller.call("softmax", [torch.zeros(2, 3)])["ok"]
            assert caller.starts == 3 and caller.process is not None


@pytest.mark.slow
def test_the_early_run_is_the_run_the_first_worker_would_have_trained(cores):
    cores(4)
    before = _live_now()
    modes = ["end_to_end", "grader_model"]
    early = runner.WorkerCaller(extraction(BASE), early_runs=modes)
    plain = runner.WorkerCaller(extraction(BASE))
    try:
        early._start()
        assert list(early.sides) == modes and early.early_started == modes
        for side, _nonce, _sent in early.sides.values():  # confined like the first
            assert side.confinement.get("confined") is True
        assert _live_now() == before + 3
        runs = [(early.train(mode), plain.train(mode)) for mode in modes]
    finally:
        early.close()
        plain.close()
    for got, want in runs:
        assert got["ok"] and want["ok"]
        assert torch.equal(got["W"], want["W"]) and torch.equal(got["b"], want["b"])
        assert got["snapshots"].keys() == want["snapshots"].keys()
        for key in ("steps", "loss_calls", "zero_grads", "test_accuracy", "stopped_after"):
            assert got.get(key) == want.get(key), key
    assert runs[0][0]["stopped_after"]  # the end-to-end run followed in its own worker too
    assert runs[0][0]["epochs"] != runs[1][0]["epochs"]  # two different runs, each where it belongs
    assert plain.early_started == [] and plain.sides == {}
    assert _live_now() == before


def test_no_early_run_on_a_gpu_or_without_runs_to_start(cores):
    cores(64)
    assert runner.WorkerCaller(extraction(BASE)).starts_early(["end_to_end"])
    assert not runner.WorkerCaller(extraction(BASE), device="cuda").starts_early(["end_to_end"])
    assert not runner.WorkerCaller(extraction(BASE)).starts_early([])


def test_no_early_run_without_two_spare_cores(cores):
    cores(1)
    caller = runner.WorkerCaller(extraction(BASE), early_runs=["end_to_end"])
    try:
        caller._start()
        assert caller.sides == {} and caller.early_started == []
    finally:
        caller.close()


@pytest.mark.slow
def test_an_early_run_that_hangs_times_out_as_it_would_in_the_first_worker(cores):
    cores(4)
    messages = []
    for early_runs in (["end_to_end"], []):
        with started(HANGS, early_runs, train_seconds=3.0) as caller:
            assert list(caller.sides) == early_runs
            time.sleep(1.0)  # the limit counts from when the early run was sent
            start = time.monotonic()
            with pytest.raises(Aborted) as err:
                caller.train("end_to_end")
            waited = time.monotonic() - start
            messages.append((err.value.status, err.value.message))
            assert waited < (2.9 if early_runs else 4.0), waited
    assert messages[0] == messages[1]
    assert messages[0][0] == "timeout" and "3 s" in messages[0][1], messages


@pytest.mark.slow
def test_an_early_run_over_the_memory_cap_is_killed_while_the_checks_run(cores):
    cores(4)
    with started(HOG, ["end_to_end"], memory_bytes=900 * 1024**2) as caller:
        side = caller.sides["end_to_end"][0].process.pid
        assert answer_checks_while_early_runs_last(caller, 60), "its memory was never watched"
        assert gone(side)
        with pytest.raises(Aborted) as err:
            caller.train("end_to_end")
        assert err.value.status == "memory" and "0.9 GB" in err.value.message
        assert caller.peak_rss > caller.limits.memory_bytes


def test_closing_kills_an_early_run_nobody_asked_for(cores):
    cores(4)
    before = _live_now()
    caller = runner.WorkerCaller(extraction(HANGS), early_runs=["end_to_end", "grader_model"])
    caller._start()
    sides = [side.process.pid for side, _nonce, _sent in caller.sides.values()]
    assert len(sides) == 2 and all(psutil.pid_exists(pid) for pid in sides)
    caller.close()
    assert _live_now() == before
    assert all(gone(pid) for pid in sides)


def test_early_runs_are_only_started_for_checks_that_can_run(monkeypatch):
    """grader.early_runs: the runs of the end-to-end and the grader's-model checks, less those
    whose functions are missing or use a built-in they must implement, or are not graded."""
    both = ["end_to_end", "grader_model"]
    assert grader.early_runs(Extraction("", "")) == both
    assert grader.early_runs(Extraction("", "", missing={"train_ch3": "not found"})) == []
    forbidden = Extraction("", "", forbidden={"softmax": ["torch.softmax"]})
    assert grader.early_runs(forbidden) == ["grader_model"]  # its model uses torch's softmax
    assert grader.early_runs(Extraction("", "", missing={"accuracy": "not found"})) == both
    graded = [p for p in grader.unit_of().registry.pairs if p[0] != "train_ch3.end_to_end"]
    monkeypatch.setattr(grader, "CHECKS", graded)
    assert grader.early_runs(Extraction("", "")) == ["grader_model"]


@pytest.mark.slow
def test_early_runs_watch_each_other_while_one_is_awaited(cores):
    """While the grader waits for one early run, another over the memory cap is killed."""
    cores(4)
    source = BASE + (
        "\ndef train_ch3(net, train_iter, test_iter, loss, num_epochs, updater):\n"
        "    import time\n"
        f"    if num_epochs == {config.NUM_EPOCHS}:  # the end-to-end run hogs memory\n"
        "        hog = torch.ones(2 ** 28)\n"
        "    time.sleep(60)\n"
    )  # fmt: skip
    both = ["end_to_end", "grader_model"]
    with started(source, both, memory_bytes=900 * 1024**2, train_seconds=3.0) as caller:
        with pytest.raises(Aborted) as slow:
            caller.train("grader_model")  # sleeps past its 3 s limit
        assert slow.value.status == "timeout"
        assert "end_to_end" in caller.side_failures and not caller.sides
        with pytest.raises(Aborted) as hog:
            caller.train("end_to_end")
        assert hog.value.status == "memory"


@pytest.mark.slow
def test_an_early_run_finished_in_time_counts_however_late_its_check_asks(cores):
    cores(4)
    with started(BASE, ["grader_model"], train_seconds=3.0) as caller:
        time.sleep(4.0)  # the 2-epoch run is done well within 3 s; its check comes later
        assert caller.train("grader_model")["ok"]


@pytest.mark.slow
def test_an_early_run_past_its_limit_is_killed_while_the_checks_run(cores):
    cores(4)
    with started(HANGS, ["end_to_end"], train_seconds=2.0) as caller:
        side = caller.sides["end_to_end"][0].process.pid
        assert answer_checks_while_early_runs_last(caller, 30), "its time was never watched"
        assert gone(side)
        with pytest.raises(Aborted) as err:
            caller.train("end_to_end")
        assert err.value.status == "timeout" and "2 s time limit" in err.value.message


RANDOM = BASE + (
    "\n_softmax = softmax\n"
    "def softmax(X):\n"
    "    torch.rand(7)  # draws from the global generator on every call\n"
    "    return _softmax(X)\n"
    "_train_ch3 = train_ch3\n"
    "def train_ch3(net, train_iter, test_iter, loss, num_epochs, updater):\n"
    "    _train_ch3(net, train_iter, test_iter, loss, num_epochs, updater)\n"
    "    with torch.no_grad():\n"
    "        for p in updater.params if hasattr(updater, 'params') else updater.param_groups[0]['params']:\n"
    "            p += 0.01 * torch.randn(p.shape)\n"
)  # fmt: skip


@pytest.mark.slow
def test_a_run_that_draws_random_numbers_is_the_same_early_or_after_the_checks(cores):
    """Each training run starts from the seeded global generator, whatever ran before it."""
    cores(4)
    early = runner.WorkerCaller(extraction(RANDOM), early_runs=["grader_model"])
    plain = runner.WorkerCaller(extraction(RANDOM))
    try:
        early._start()
        for _ in range(3):  # the first worker's calls draw random numbers before it trains
            assert plain.call("softmax", [torch.zeros(2, 3)]).get("ok")
        got, want = early.train("grader_model"), plain.train("grader_model")
    finally:
        early.close()
        plain.close()
    assert got["ok"] and want["ok"], (got.get("error"), want.get("error"))
    assert torch.equal(got["W"], want["W"]) and torch.equal(got["b"], want["b"])


# -- the grader never blocks on a worker (issue 20, item 3) ------------------------------------------
WRITE_ON_THE_PIPE = '''
def _on_the_pipe(data):
    """Write `data` on every socket among this process's descriptors (the worker's pipe)."""
    import os
    for name in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{name}").startswith("socket:"):
                os.write(int(name), data)
        except OSError:
            pass

def softmax(X):
    import struct, time
    _on_the_pipe(struct.pack("!i", HEADER) + b"x" * 14)
    time.sleep(600)
'''


def _worker_writes(header: int) -> str:
    """Code whose softmax writes a frame header of `header` bytes and 14 bytes on the pipe, then sleeps."""
    return BASE + f"\nHEADER = {header}\n" + WRITE_ON_THE_PIPE


def _call_in_thread(caller, *args):
    """caller.call(*args) in a thread: (raised Aborted or reply, whether it returned at all)."""
    import threading

    out = []

    def run():
        try:
            out.append(caller.call(*args))
        except Aborted as err:
            out.append(err)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(120)  # a guard against the hang under test, not a timing assertion
    return (out[0] if out else None), not thread.is_alive()


def test_a_reply_that_never_completes_kills_the_worker_instead_of_hanging_the_grader():
    # a call limit far beyond the guard: the frame begun must end within REPLY_GRACE_SECONDS
    with started(_worker_writes(1000), [], call_seconds=600.0) as caller:
        pid = caller.process.pid
        err, returned = _call_in_thread(caller, "softmax", [torch.zeros(2, 3)])
        assert returned, "the grader blocked on a half-sent reply"
        assert isinstance(err, Aborted) and err.status == "crashed", err
        assert "incomplete reply" in err.message
        assert gone(pid)


@pytest.mark.parametrize("header", [-1, 200 * 1024**2])
def test_a_reply_announced_over_the_size_limit_is_refused_unread(header):
    with started(_worker_writes(header), [], call_seconds=2.0) as caller:
        err, returned = _call_in_thread(caller, "softmax", [torch.zeros(2, 3)])
        assert returned
        assert isinstance(err, Aborted) and err.status == "crashed", err
        assert "64 MB" in err.message


class _Stuck:
    """A stand-in for a worker process that is alive and never reads its pipe."""

    pid = 0

    def is_alive(self):
        return True


def test_a_request_into_a_worker_that_stops_reading_is_bounded(monkeypatch):
    import multiprocessing

    ours, theirs = multiprocessing.Pipe(duplex=True)
    caller = runner.WorkerCaller(
        extraction(""), limits=dataclasses.replace(config.LIMITS, call_seconds=1.0)
    )
    caller.process, caller.conn = _Stuck(), ours
    closed = []
    monkeypatch.setattr(caller, "close", lambda: closed.append(True))
    big = torch.zeros(1_000_000)  # megabytes of request: far more than a pipe holds
    with pytest.raises(Aborted) as err:
        caller._send({"op": "call", "fn": "softmax", "args": [big]}, "running softmax")
    assert err.value.status == "timeout" and "stopped reading" in err.value.message
    assert closed
    theirs.close()
    ours.close()


def test_frames_written_by_the_grader_are_what_a_worker_connection_reads():
    import multiprocessing
    import os

    from autograder.sandbox import wire

    ours, theirs = multiprocessing.Pipe(duplex=True)
    os.set_blocking(ours.fileno(), False)
    assert wire.write_frame(ours.fileno(), b"hello", time.monotonic() + 60)
    assert theirs.recv_bytes() == b"hello"
    import threading

    # bigger than the pipe: sent from a thread, read in pieces as it comes
    sender = threading.Thread(target=theirs.send_bytes, args=(b"x" * 300_000,), daemon=True)
    sender.start()
    reader, got = wire.FrameReader(ours.fileno()), None
    while got is None:
        got = reader.pump(1.0)
    sender.join()
    assert got == b"x" * 300_000 and not reader.started
    ours.close()
    theirs.close()


def test_closing_removes_a_scratch_folder_5000_levels_deep():
    """What a student leaves in scratch (here 5,000 nested folders, made after the worker
    started, as its code could before any rule forbade it) is removed by close(), which raises
    nothing (old close(): shutil.rmtree raised RecursionError, the student ended as grader_error
    and the folder stayed)."""
    caller = runner.WorkerCaller(extraction(BASE))
    caller._start()
    where = caller.scratch
    fd = os.open(where, os.O_RDONLY | os.O_DIRECTORY)
    for _ in range(5000):
        os.mkdir("d", dir_fd=fd)
        inner = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
        os.close(fd)
        fd = inner
    os.close(fd)
    caller.close()
    assert caller.scratch is None and not os.path.lexists(where)


def test_a_followed_run_stops_once_it_reaches_the_top_tier_and_a_fresh_worker_goes_on(cores):
    """config.STOP_EARLY: the worker reports every epoch's end; the grader measures the
    parameters and kills the worker at the first epoch that reaches the top tier."""
    cores(1)  # no early run: the first worker trains
    caller = runner.WorkerCaller(extraction(BASE))
    try:
        run = caller.train("end_to_end")
        assert run["ok"] and 1 <= run["stopped_after"] < config.NUM_EPOCHS, run.get("epochs")
        assert run["test_accuracy"] >= config.ACCURACY_TIERS[0][0]
        assert run["steps"] == run["stopped_after"] * run["batches_per_epoch"]
        assert str(run["batches_per_epoch"]) in run["snapshots"]  # the end-to-end check's epoch 1
        assert caller.process is None and caller.starts == 1  # stopped, not left training
        later = caller.call("softmax", [torch.zeros(2, 3)])
        assert later.get("ok") and caller.starts == 2
    finally:
        caller.close()


@pytest.mark.slow
def test_a_followed_run_is_judged_as_the_whole_run_cut_at_that_epoch(cores, monkeypatch):
    cores(1)
    followed = runner.WorkerCaller(extraction(BASE))
    try:
        stopped = followed.train("end_to_end")
    finally:
        followed.close()
    monkeypatch.setattr(config, "STOP_EARLY", False)
    whole = runner.WorkerCaller(extraction(BASE))
    try:
        run = whole._train("end_to_end")  # all its epochs, as before the rule
    finally:
        whole.close()
    assert run["epochs"] == config.NUM_EPOCHS and "stopped_after" not in run
    assert run["steps"] == config.NUM_EPOCHS * run["batches_per_epoch"]
    monkeypatch.setattr(config, "STOP_EARLY", True)
    cut = whole._cut(run, "end_to_end")
    assert cut["stopped_after"] == stopped["stopped_after"]
    assert torch.equal(cut["W"], stopped["W"]) and torch.equal(cut["b"], stopped["b"])


@pytest.mark.slow
def test_an_early_run_followed_while_the_checks_run_never_waits_on_its_pipe(cores):
    """Its progress is read while the first worker answers (_watch_sides): the early run goes on
    to its last epoch and reply unblocked, and is judged at its first epoch at the top tier."""
    cores(4)
    with started(BASE, ["end_to_end"]) as caller:
        side = caller.sides["end_to_end"][0]
        end = time.monotonic() + 90
        # a report at the end of every epoch before the last, then its reply
        while len(side._pending) < config.NUM_EPOCHS and time.monotonic() < end:
            assert caller.call("softmax", [torch.zeros(2, 3)]).get("ok")
        assert len(side._pending) == config.NUM_EPOCHS
        assert b'"op":"reply"' in side._pending[-1]
        run = caller.train("end_to_end")
        assert 1 <= run["stopped_after"] < config.NUM_EPOCHS
        assert gone(side.process.pid) if side.process else True
        assert not caller.sides


def test_a_worker_that_reports_progress_without_end_is_killed(monkeypatch):
    """No code keeps the grader reading and measuring reports: past config.PROGRESS_MESSAGES
    the worker is killed (crashed)."""
    caller = runner.WorkerCaller(extraction(BASE))
    report = {"op": "progress", "nonce": "n", "epoch": 1}
    monkeypatch.setattr(caller, "_receive", lambda *args, **kwargs: dict(report))
    closed, judged = [], []
    monkeypatch.setattr(caller, "close", lambda: closed.append(True))
    with pytest.raises(Aborted) as err:
        caller._reply("n", 60, "training", on_progress=judged.append)
    assert len(judged) == config.PROGRESS_MESSAGES and closed == [True]
    assert err.value.status == "crashed" and "unexpected message" in err.value.message


def test_an_early_runs_messages_are_read_ahead_only_up_to_a_bound(monkeypatch):
    """_drain keeps at most config.PENDING_BYTES of an early run's frames; the rest waits on its
    pipe (a worker cannot fill the grader's memory through it)."""

    class Endless:
        def pump(self, timeout):
            return bytes(1024**2)

    caller = runner.WorkerCaller(extraction(BASE))
    monkeypatch.setattr(caller, "_frames", Endless)
    caller._drain()
    assert sum(map(len, caller._pending)) == config.PENDING_BYTES
