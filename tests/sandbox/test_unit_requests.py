"""The unit travels in the request (#22): the sandbox names no unit; the worker imports the unit its
spec names (a registered one only), the fork server's process prepares the units it is told of,
and batch checks the data of the units graded."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import threading
import types
from pathlib import Path

import pytest
from helpers.paths import ROOT

import autograder.units
from autograder import config, units
from autograder.checks.loop import Aborted
from autograder.grading import batch
from autograder.sandbox import runner
from autograder.submissions.notebook import Extraction

SANDBOX = ROOT / "autograder" / "sandbox"

PROBE = {
    "__init__.py": "",
    "unit.py": (
        'POINTS = {"probe.one": 2.0}\n'
        'GRADED_FUNCTIONS = ("f",)\n'
        'MAIN_NOTEBOOK = "probe.ipynb"\n'
        "QUIZ_NOTEBOOK = None\n"
        'REFERENCE_RUNS = ("first", "second")\n'
        'TRAINING_LABEL = "probing the probe unit"\n'
    ),
    "caller.py": (
        "class Caller:\n"
        '    def __init__(self, device="cpu"):\n'
        "        self.device, self._runs = str(device), {}\n"
        "\n"
        "    def train(self, mode):\n"
        "        if mode not in self._runs:\n"
        '            self._runs[mode] = {**self._train(mode), "via": "probe caller"}\n'
        "        return self._runs[mode]\n"
    ),
    "calls.py": (
        "import time\n"
        "\n"
        "def execute_call(namespace, fn, args, grad_wrt=(), cotangent=None, device=None):\n"
        '    return {"ok": True, "value": f"probe {fn}: {namespace[fn](*args)}"}\n'
        "\n"
        "def run_training(namespace, mode, batches, device):\n"
        '    while mode == "hang":\n'
        "        time.sleep(0.05)\n"
        '    return {"ok": True, "mode": mode, "batches": [float(t.sum()) for t in batches]}\n'
    ),
    "data.py": (
        "import torch\n"
        "\n"
        "MISSING = False\n"
        "READ = []\n"
        "\n"
        "class DataMissingError(RuntimeError):\n"
        "    pass\n"
        "\n"
        "def require_data():\n"
        "    if MISSING:\n"
        '        raise DataMissingError("the probe unit\'s data set is missing")\n'
        "\n"
        "def arrays_cpu():\n"
        '    READ.append("read")\n'
        "\n"
        "def worker_arrays():\n"
        "    return torch.ones(2), torch.ones(3)\n"
        "\n"
        'def batches(device="cpu", arrays_=None):\n'
        "    return list(arrays_)\n"
    ),
    "references.py": "RAN = []\n\ndef sgd_run(mode):\n    RAN.append(mode)\n",
    "checks.py": 'from types import SimpleNamespace\n\nREGISTRY = [SimpleNamespace(id="probe.one")]\n',
}
"""A second unit, `probe_unit` (assignment "probe"): every part replies so that it is recognised."""


def write_probe(folder: Path) -> Path:
    """Write the probe unit's package (and a bare unit, without data) under `folder`; `folder`."""
    for name, text in PROBE.items():
        (folder / "probe_unit").mkdir(parents=True, exist_ok=True)
        (folder / "probe_unit" / name).write_text(text)
    (folder / "bare_unit").mkdir(exist_ok=True)
    (folder / "bare_unit" / "__init__.py").write_text("")
    (folder / "bare_unit" / "unit.py").write_text("POINTS = {}\n")
    return folder


@pytest.fixture
def probe(tmp_path, monkeypatch):
    """The probe unit registered in this process (assignment "probe"; "bare" has no data)."""
    ext = write_probe(tmp_path / "ext")
    monkeypatch.setattr(autograder.units, "__path__", [*autograder.units.__path__, str(ext)])
    monkeypatch.setitem(config.UNITS, "probe", "probe_unit")
    monkeypatch.setitem(config.UNITS, "bare", "bare_unit")
    yield units.by_name("probe_unit")
    for name in [m for m in sys.modules if m.startswith(("autograder.units.probe_unit", "autograder.units.bare_unit"))]:  # fmt: skip
        del sys.modules[name]


# -- the sandbox names no unit --------------------------------------------------------------------
@pytest.mark.parametrize(
    "path", ["worker.py", "forkserver.py", "runner.py", "preload.py", "preload_optim.py"]
)
def test_the_sandbox_names_no_unit(path):
    source = (SANDBOX / path).read_text()
    names = set(config.UNITS.values())
    imported = set()  # modules, and names imported from autograder.units that are units
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
            if node.module == "autograder.units":
                imported |= {f"autograder.units.{a.name}" for a in node.names if a.name in names}
        elif isinstance(node, ast.Import):
            imported |= {a.name for a in node.names}
    assert not [m for m in imported if m.startswith("autograder.units.")]
    for name in names:
        assert name not in source


# -- the worker imports the unit its spec names ---------------------------------------------------
def test_the_worker_harness_is_the_named_units():
    from autograder.sandbox import worker

    unit = units.by_name("softmax_regression")
    assert worker.harness("softmax_regression") == (
        unit.calls.execute_call, unit.calls.run_training, unit.data.worker_arrays, unit.data.batches
    )  # fmt: skip
    for name in ("nowhere", "softmax_regression.checks", "../softmax_regression", None, ["x"], 3):
        with pytest.raises(LookupError):
            worker.harness(name)


def test_a_worker_refuses_a_spec_naming_no_registered_unit():
    caller = runner.WorkerCaller(Extraction(release_source="", student_source="x = 1\n"))
    caller.unit = units.Unit("nowhere")  # what the spec names: the grader's side is bypassed
    try:
        with pytest.raises(Aborted, match="could not start.*no unit 'nowhere' is registered"):
            caller.call("f", [1])
    finally:
        caller.close()


def test_a_worker_caller_is_of_the_class_of_its_unit(probe):
    ext = Extraction(release_source="", student_source="x = 1\n")
    default = runner.WorkerCaller(ext)
    zh = runner.WorkerCaller(ext, assignment="softmax_regression_zh")
    assert default.unit is zh.unit is units.get() and type(default) is type(zh)
    assert isinstance(default, units.get().caller.Caller)
    assert default.release_dir == str(config.RELEASE_DIR)
    assert zh.release_dir == str(config.release_dir("softmax_regression_zh"))
    other = runner.WorkerCaller(ext, unit="probe_unit", release_dir="/nowhere")
    assert other.unit is probe and other.assignment == "probe"
    assert isinstance(other, runner.WorkerCaller) and isinstance(other, probe.caller.Caller)
    assert not isinstance(other, units.get().caller.Caller)
    with pytest.raises(ValueError):
        runner.WorkerCaller(ext, unit=probe, assignment="softmax_regression")
    with pytest.raises(KeyError):
        runner.WorkerCaller(ext, unit="nowhere")


SCRIPT = """
import json, sys, threading
from pathlib import Path

import autograder.units
from autograder import config

# Registered here, so also in every worker (multiprocessing imports this script in the child).
autograder.units.__path__.append(str(Path(__file__).parent / "ext"))
config.UNITS["probe"] = "probe_unit"

if __name__ == "__main__":
    import dataclasses

    from autograder import units
    from autograder.checks.loop import Aborted
    from autograder.sandbox import forkserver, runner
    from autograder.submissions.notebook import Extraction

    probe = units.by_name("probe_unit")
    forkserver.start(preload=[], units=[probe])
    for thread in threading.enumerate():
        if thread.name == "forkserver-data":
            thread.join(300)
    forkserver.prepare(probe)  # once per unit: nothing more
    out = {"read": probe.data.READ, "ran": list(probe.references.RAN)}
    out["other_units"] = [m for m in sys.modules if m.startswith("autograder.units.softmax_regression.")]
    runner.available_cores = lambda: 8  # an early run
    ext = Extraction(release_source="", student_source="def f(x):\\n    return x * 2\\n")
    caller = runner.WorkerCaller(ext, unit="probe_unit", release_dir=sys.argv[1], early_runs=["quick"])
    try:
        out["call"] = caller.call("f", [3]).get("value")
        out["early"] = caller.early_started
        run = caller.train("quick")
        out["train"] = {key: run.get(key) for key in ("ok", "mode", "batches", "via")}
    finally:
        caller.close()
    limits = dataclasses.replace(config.LIMITS, train_seconds=1)
    caller = runner.WorkerCaller(ext, assignment="probe", release_dir=sys.argv[1], limits=limits)
    try:
        caller.train("hang")
    except Aborted as err:
        out["hang"] = err.message
    finally:
        caller.close()
    out["ran_after"] = list(probe.references.RAN)
    print(json.dumps(out))
"""


def test_grading_another_unit_through_a_worker_caller(tmp_path):
    """A second unit, registered by the grading script: the fork server's process prepares it
    (data, then its reference runs) and not the default unit; its workers answer with its harness,
    its Caller's train, its data and its training label."""
    write_probe(tmp_path / "ext")
    (tmp_path / "release").mkdir()
    script = tmp_path / "grade_probe.py"
    script.write_text(SCRIPT)
    proc = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "release")], cwd=ROOT, capture_output=True,
        text=True, timeout=600, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["read"] == ["read"] and out["ran"] == out["ran_after"] == ["first", "second"]
    assert not [m for m in out["other_units"] if m.endswith((".references", ".data"))], out
    assert out["call"] == "probe f: 6"
    assert out["early"] == ["quick"]
    assert out["train"] == {
        "ok": True,
        "mode": "quick",
        "batches": [2.0, 3.0],
        "via": "probe caller",
    }
    assert out["hang"].startswith("probing the probe unit took longer than the 1 s time limit")


def test_units_prepared_before_start_replace_its_default(probe, monkeypatch):
    """prepare() before start(): start() reads those units' data and runs (not config.ASSIGNMENT's),
    each unit once; a later prepare() of another unit starts on it at once."""
    from autograder.sandbox import forkserver

    read = []
    for name, value in {"_started": None, "_pending": [], "_prepared": set(),
                        "ensure_running": lambda: None, "available_cores": lambda: 1,
                        "_wait_ready": lambda: None, "_read_data": read.append}.items():  # fmt: skip
        monkeypatch.setattr(forkserver, name, value)
    forkserver.prepare(probe)
    forkserver.prepare(probe)
    assert read == [] and forkserver._pending == [probe]
    forkserver.start(preload=None)
    forkserver.prepare(probe)
    forkserver.start(units=[probe])
    forkserver.prepare(units.get())
    for thread in [t for t in threading.enumerate() if t.name == "forkserver-data"]:
        thread.join(10)
    assert read == [[probe], [units.get()]]


# -- batch: the data and points of the units graded -----------------------------------------------
def test_check_data_asks_the_units_of_the_assignments_graded(probe, monkeypatch):
    batch.check_data(["probe", "bare"])  # the bare unit has no data module: it needs nothing
    monkeypatch.setattr(probe.data, "MISSING", True)
    with pytest.raises(batch.GraderUnavailable, match="the probe unit's data set is missing"):
        batch.check_data(["softmax_regression", "probe"])
    batch.check_data()  # config.ASSIGNMENT's unit only
    batch.check_data(["bare"])
    assert batch.units_of(["softmax_regression", "probe", "softmax_regression_zh"]) == [
        units.get(), probe
    ]  # fmt: skip
    subs = [types.SimpleNamespace(assignment=a) for a in ("probe", "softmax_regression", "probe")]
    assert batch.assignments_of(subs) == ["probe", "softmax_regression"]


def test_a_grader_failure_counts_the_checks_and_points_of_the_submissions_unit(probe):
    sub = types.SimpleNamespace(student="amy", assignment="probe", fingerprint=lambda: "f")
    result = batch.grader_failed_result(sub, RuntimeError("boom"), "cpu")
    assert [(c.check_id, c.max_score) for c in result.checks] == [("probe.one", 2.0)]
    assert result.info["assignment"] == "probe"


def test_progress_writes_to_the_standard_error_of_its_time(monkeypatch):
    """Not the one of when batch was imported (pytest's capsys closes its own after a test)."""
    import io

    now = io.StringIO()
    monkeypatch.setattr(sys, "stderr", now)
    batch.Progress(1).say("line")
    assert now.getvalue() == "line\n"
