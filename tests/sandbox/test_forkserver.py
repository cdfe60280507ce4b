"""The warm fork server (autograder/sandbox/forkserver.py, preload.py): who loads what, and when."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest
from helpers.paths import ROOT

from autograder.sandbox import forkserver

HEAVY = (
    "autograder.sandbox.preload",
    "matplotlib.pyplot",
    "autograder.sandbox.preload_optim",
    "torch._dynamo",
)
"""What the fork server preloads by default (all of PRELOAD: the pytest plugin's path)."""
NEVER = ("torchvision",)
"""Not imported by the fork server (nor the grader) unless a submission to grade imports it."""


FORKED = """
import json, sys
from autograder.sandbox import forkserver

def loaded(conn):
    # in a forked worker: which of the modules asked about the fork server had already imported
    conn.send([m for m in {modules!r} if m in sys.modules])
    conn.close()

if __name__ == "__main__":
    ctx = forkserver.context()
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=loaded, args=(child,))
    proc.start()
    assert parent.poll(120), "no answer from the forked worker"
    print(json.dumps(parent.recv()))
    proc.join(10)
"""


def test_workers_are_forked_from_a_server_that_preloaded_torch_and_the_data_not_torchvision(
    tmp_path,
):
    """In a fresh grader process (this test process's own fork server may have been started by an
    earlier test with a narrower preload): a worker finds all of PRELOAD and not torchvision."""
    if forkserver.context().get_start_method() != "forkserver":  # pragma: no cover - Linux has one
        return
    out = run_script(tmp_path / "forked.py", FORKED.format(modules=HEAVY + NEVER))
    assert json.loads(out.strip().splitlines()[-1]) == list(HEAVY)


# The grader process itself: start one worker, then report what it imported.
PARENT = """
import sys
from autograder.grading import grader  # noqa: F401 - the grader process as it is when grading
from autograder.submissions import submission
from autograder.submissions import notebook
from autograder.sandbox import runner
ext = notebook.extract(notebook.read_notebook(sys.argv[1]), submission.release_notebook())
caller = runner.WorkerCaller(ext)
caller._start()
caller.close()
print(",".join(m for m in {heavy!r} if m in sys.modules) or "-")
print("torchvision" in sys.modules)
"""


@pytest.mark.slow
def test_the_grader_process_never_runs_the_preload(examples):
    """Only the fork server preloads: the grader does not import matplotlib or read the data."""
    notebook = examples / "alice_full" / "softmax_regression" / "softmax_regression.ipynb"
    proc = subprocess.run(
        [sys.executable, "-c", PARENT.format(heavy=HEAVY), str(notebook)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.split() == ["-", "False"]


STARTER = """
import sys, threading
from autograder.units.softmax_regression import data
from autograder.sandbox import forkserver
gate = threading.Event()
real = data._read_arrays
def gated():
    gate.wait()  # the read cannot finish until start() has returned
    return real()
data._read_arrays = gated
forkserver.start()  # hangs here if it read the data in this thread
gate.set()
X_train, y_train, X_test, y_test = data.arrays_cpu()
print([t.name for t in threading.enumerate()], tuple(X_test.shape))
"""


@pytest.mark.slow
def test_start_returns_at_once_and_reads_the_data_alongside():
    proc = subprocess.run(
        [sys.executable, "-c", STARTER], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().endswith("(10000, 1, 28, 28)"), proc.stdout


def test_reading_the_data_from_two_threads_reads_it_once():
    import threading

    from autograder.units.softmax_regression import data

    data._read_arrays.cache_clear()  # read afresh even if an earlier test has read them
    got = []
    threads = [threading.Thread(target=lambda: got.append(data.arrays_cpu())) for _ in range(3)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert len(got) == 3 and all(g is got[0] for g in got), time.monotonic() - start


def run_script(path, text, *args) -> str:
    """Run `text` as the script `path` (a fork server needs a real __main__ file); its stdout."""
    path.write_text(text)
    proc = subprocess.run(
        [sys.executable, str(path), *map(str, args)], cwd=ROOT, capture_output=True, text=True,
        timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


EXTRA = """
import sys, time


def probe(conn):
    conn.send([m for m in ("tabnanny", "pyclbr", "matplotlib") if m in sys.modules])


if __name__ == "__main__":
    from autograder.sandbox import forkserver

    forkserver.start(preload=["tabnanny"])
    forkserver.start(preload=["pyclbr"])  # only the first call starts anything
    ctx = forkserver.context()
    parent, child = ctx.Pipe()
    ctx.Process(target=probe, args=(child,)).start()
    print(parent.recv(), "tabnanny" in sys.modules)
    for _ in range(600):
        if forkserver.ready_after() is not None:
            break
        time.sleep(0.1)
    print(forkserver.ready_after() > 0, forkserver.started())
"""


@pytest.mark.slow
def test_start_preloads_what_the_submissions_import_and_measures_when_it_is_ready(tmp_path):
    """start(preload=...) sets the fork server's optional preload (matplotlib, torchvision: only
    when a submission imports them), never the grader's; ready_after() times its start."""
    out = run_script(tmp_path / "start_extra.py", EXTRA)
    assert out.splitlines() == ["['tabnanny'] False", "True True"], out
    assert forkserver.optional_preload({"torch", "matplotlib", "torchvision"}) == [
        "matplotlib.pyplot",
        "torchvision",
    ]
    assert forkserver.optional_preload({"torch", "fashion_mnist", "animator"}) == []
    assert forkserver.optional_preload({"torch", "torch.optim"}) == [
        "autograder.sandbox.preload_optim"
    ]


LEAN = """
import sys


def probe(conn):
    conn.send([m for m in ("torch", "torch._dynamo", "matplotlib") if m in sys.modules])


if __name__ == "__main__":
    from autograder.sandbox import forkserver

    forkserver.start(preload=[])  # what `grade` asks for a class that uses neither
    ctx = forkserver.context()
    parent, child = ctx.Pipe()
    ctx.Process(target=probe, args=(child,)).start()
    print(parent.recv())
"""


def test_without_optim_in_the_code_the_fork_server_never_imports_dynamo(tmp_path):
    """torch._dynamo costs about 3.5 s of CPU: only code that uses torch.optim itself needs it
    (the grader's updater and operator recorder never import it: tests/units/test_calls.py)."""
    out = run_script(tmp_path / "lean.py", LEAN)
    assert out.strip() == "['torch']", out


ONE_CORE = """
import sys

if __name__ == "__main__":
    from autograder.sandbox import forkserver

    forkserver.available_cores = lambda: int(sys.argv[1])
    forkserver.start(preload=[])
    print(forkserver.ready_at() is not None)
"""


def test_on_one_core_the_grader_imports_torch_after_the_fork_server_is_ready(tmp_path):
    """Two `import torch` time-sliced on one core cost about 1 s more than one after the other:
    there start() returns once the fork server is ready; with two cores it returns at once."""
    script = tmp_path / "one_core.py"
    got = [run_script(script, ONE_CORE, cores).split() for cores in (1, 2)]
    assert got == [["True"], ["False"]]


LEAVES = """
import json, os, sys

if __name__ == "__main__":
    from multiprocessing import forkserver as mp_forkserver, resource_tracker, util

    from autograder.sandbox import forkserver, runner
    from autograder.submissions.notebook import Extraction

    forkserver.start(preload=[])
    caller = runner.WorkerCaller(Extraction(release_source="", student_source="x = 1\\n"))
    caller._start()
    worker = caller.process.pid
    print(json.dumps({
        "scratch": caller.scratch, "mp": util.get_temp_dir(), "worker": worker,
        "server": mp_forkserver._forkserver._forkserver_pid,
        "tracker": resource_tracker._resource_tracker._pid,
    }), flush=True)
    if sys.argv[1] == "stop":  # what grade does before os._exit (the worker still running)
        forkserver.stop()
        os._exit(0)
    caller.close()  # the plain interpreter exit: forkserver.stop runs at exit
"""


@pytest.fixture
def short_tmpdir():
    """A new folder with a short path (a unix socket's path holds 107 bytes), removed after."""
    path = Path(tempfile.mkdtemp(prefix="softmax-tmpdir-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.parametrize("how", ["stop", "exit"])
def test_nothing_outlives_the_grader_and_its_folders_are_under_tmpdir(tmp_path, short_tmpdir, how):
    """Scratch and multiprocessing's folder (the fork server's socket) are made under the
    grader's TMPDIR, and gone when it ends; the fork server, its workers and the resource tracker
    are reaped before it exits (old code: under /tmp whatever TMPDIR said, pymp-* left behind,
    the fork server adopted by pid 1 for seconds)."""
    tmpdir = short_tmpdir
    script = tmp_path / "leaves.py"
    script.write_text(LEAVES)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(tmpdir)}
    proc = subprocess.run([sys.executable, str(script), how], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, env=env)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    made = json.loads(proc.stdout.splitlines()[0])
    assert Path(made["scratch"]).parent == tmpdir and Path(made["mp"]).parent == tmpdir, made
    alive = [k for k in ("server", "tracker", "worker") if made[k] and psutil.pid_exists(made[k])]
    alive = [k for k in alive if psutil.Process(made[k]).status() != psutil.STATUS_ZOMBIE]
    assert alive == [] and list(tmpdir.iterdir()) == [], (alive, list(tmpdir.iterdir()))


def test_a_tmpdir_too_long_for_a_socket_still_grades_and_leaves_nothing(tmp_path):
    """A TMPDIR whose path leaves no room for the fork server's socket (107 bytes): scratch still
    goes there, multiprocessing's folder to /tmp, and both are removed."""
    tmpdir = tmp_path / ("long-" * 20)
    tmpdir.mkdir()
    script = tmp_path / "leaves.py"
    script.write_text(LEAVES)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(tmpdir)}
    proc = subprocess.run([sys.executable, str(script), "stop"], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, env=env)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    made = json.loads(proc.stdout.splitlines()[0])
    assert Path(made["scratch"]).parent == tmpdir and Path(made["mp"]).parent == Path("/tmp")
    assert not Path(made["mp"]).exists() and list(tmpdir.iterdir()) == []


def test_grade_leaves_no_process_and_no_folder(examples, short_tmpdir, tmp_path):
    """`python -m autograder grade` (the path of Gradescope and Classroom too) stops the fork
    server before its os._exit: rejects a grade that only relies on the interpreter's exit."""
    env = {**os.environ, "TMPDIR": str(short_tmpdir)}
    cmd = [sys.executable, "-m", "autograder", "grade", str(examples / "carol_blank"), "--out",
           str(tmp_path / "out"), "--workers", "1", "--no-report"]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seen, me = set(), psutil.Process(proc.pid)
    while proc.poll() is None:  # every process it starts, as long as it runs
        with contextlib.suppress(psutil.Error):
            seen |= {c.pid for c in me.children(recursive=True)}
        time.sleep(0.05)
    out, err = proc.communicate()
    assert proc.returncode == 0, err.decode()[-3000:]
    left = [p for p in seen if psutil.pid_exists(p)]
    left = [p for p in left if psutil.Process(p).status() != psutil.STATUS_ZOMBIE]
    assert seen and left == [] and list(short_tmpdir.iterdir()) == []


SCRIPT_MAIN = """
import os, sys
if __name__ == "__mp_main__":  # a worker importing this script again
    open(os.environ["MARKER"], "a").write("imported by a worker\\n")
if __name__ == "__main__":
    from autograder.sandbox import forkserver
    forkserver.ensure_running()
    ctx = forkserver.context()
    proc = ctx.Process(target=os.getpid)
    proc.start()
    proc.join(60)
    forkserver.stop()
    sys.exit(proc.exitcode)
"""


def test_workers_never_run_a_console_scripts_main_again(tmp_path):
    """Under a console script (nbgrader's: a file without .py), multiprocessing would import the
    script in every worker (5 s of nbgrader.apps each); the fork server's workers skip it, as for
    `-m`. (A .py script's workers still import it: the other tests here define their workers'
    targets in one.)"""
    script, marker = tmp_path / "console_script", tmp_path / "marker"
    script.write_text(SCRIPT_MAIN)
    env = {**os.environ, "MARKER": str(marker), "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert not marker.exists(), marker.read_text()


EXIT_EARLY = """
import sys
from pathlib import Path
from autograder import units
from autograder.sandbox import forkserver

log = Path(sys.argv[1])
unit = units.get()
real = unit.references.sgd_run
def logged(mode):
    with log.open("a") as fh:
        fh.write(mode + "\\n")
    return real(mode)
unit.references.sgd_run = logged
forkserver.start(units=[unit])
print("started")
"""


def test_a_process_that_asks_for_no_reference_run_exits_without_computing_them(tmp_path):
    """Nothing graded needs the reference runs: the process exits without starting them (an
    nbgrader step that graded only blank work waited up to 20 s for them)."""
    log = tmp_path / "runs.txt"
    assert run_script(tmp_path / "early.py", EXIT_EARLY, log).split() == ["started"]
    assert not log.exists() or log.read_text().split() == [], log.read_text()
