"""Shared test setup and fixtures: the data location (the shared official files when present)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from helpers.paths import EXAMPLES, ROOT, SHARED_DATA

pytest_plugins = ["helpers.xdist_groups"]
"""Under pytest-xdist: tests sharing an expensive fixture stay on one worker, longest first."""

if not os.environ.get("FASHION_MNIST_ROOT") and SHARED_DATA.is_dir():
    os.environ["FASHION_MNIST_ROOT"] = str(SHARED_DATA)
os.environ.setdefault("MPLBACKEND", "Agg")
if "SOFTMAX_CACHE" not in os.environ:  # the reference runs, computed once per test run
    import atexit  # (checks/runcache.py): set before the xdist workers start, so all share it
    import shutil
    import tempfile

    os.environ["SOFTMAX_CACHE"] = tempfile.mkdtemp(prefix="softmax-test-cache-")
    atexit.register(shutil.rmtree, os.environ["SOFTMAX_CACHE"], True)

# One torch thread per test process: CI has 2 cores, and oversubscribed threads make a 4 s training
# run take 40 s when several processes (nbgrader kernels, grader workers) run at once.
torch.set_num_threads(1)


NO_NETWORK_PROXY = "http://127.0.0.1:9"
"""A proxy nothing listens on: a child process's downloads fail at once (no network)."""


@pytest.fixture
def no_data_env(tmp_path) -> dict:
    """The environment of a child process without the data set: FASHION_MNIST_ROOT an empty
    folder, no cache, no network."""
    empty = tmp_path / "no-data"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if k.lower() != "no_proxy"}
    env.update(FASHION_MNIST_ROOT=str(empty), FASHION_MNIST_CACHE=str(tmp_path / "cache"))
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        env[name] = NO_NETWORK_PROXY
    return env


@pytest.fixture(scope="session")
def root() -> Path:
    """The repository (course) root."""
    return ROOT


@pytest.fixture(scope="session")
def examples() -> Path:
    """nbgrader's submitted/ folder of the bundled example class."""
    return EXAMPLES


@pytest.fixture(scope="session")
def graded_class(tmp_path_factory):
    """The example class graded once by the CLI: (results folder, finished process)."""
    out = tmp_path_factory.mktemp("example-class")
    proc = subprocess.run(
        [sys.executable, "-m", "autograder", "grade", str(EXAMPLES), "--out", str(out), "--device", "cpu"],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, proc
