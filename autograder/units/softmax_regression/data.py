"""Fashion-MNIST for the grader: the release's helper module, loaded once per process, on a device."""

from __future__ import annotations

import functools
import importlib.util
import sys
import threading

import torch

from autograder import config


@functools.cache
def helper_module():
    """The assignment's fashion_mnist.py from release/ (the same file students use)."""
    path = config.RELEASE_DIR / "fashion_mnist.py"
    spec = importlib.util.spec_from_file_location("fashion_mnist", path)
    if spec is None or not path.is_file():
        raise FileNotFoundError(
            f"{path}: the assignment's data helper is missing; regenerate release/"
        )
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("fashion_mnist", module)
    spec.loader.exec_module(module)
    return module


_read_lock = threading.Lock()


def arrays_cpu():
    """(X_train, y_train, X_test, y_test) as CPU tensors, read once per process (thread-safe)."""
    with _read_lock:  # forkserver.start() may be reading them in a background thread
        return _read_arrays()


@functools.cache
def _read_arrays():
    return helper_module().load_arrays(device="cpu")


@functools.cache
def arrays(device="cpu"):
    """The four tensors on `device` (a string such as "cpu" or "cuda")."""
    return tuple(t.to(device) for t in arrays_cpu())


def split_indices(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(visible, hidden) sorted indices of the n test images (config.HIDDEN_TEST_FRACTION hidden)."""
    order = torch.randperm(n, generator=torch.Generator().manual_seed(config.HIDDEN_SPLIT_SEED))
    hidden = int(round(n * config.HIDDEN_TEST_FRACTION))
    return order[hidden:].sort().values, order[:hidden].sort().values


def hidden_arrays(device="cpu"):
    """(X_hidden, y_hidden): the test images a student's code never receives (grader only)."""
    X_test, y_test = arrays(str(device))[2:]
    _, hidden = split_indices(len(y_test))
    hidden = hidden.to(X_test.device)
    return X_test.index_select(0, hidden), y_test.index_select(0, hidden)


_worker_arrays = None


def worker_arrays():
    """(X_train, y_train, X_visible, y_visible) on the CPU, read for a worker's fork server.

    The hidden test images are never kept: the freshly read test tensors are overwritten with
    zeros once the visible rows are copied out, so not even freed memory holds them.
    """
    global _worker_arrays
    with _read_lock:
        if _worker_arrays is None:
            X_train, y_train, X_test, y_test = helper_module().load_arrays(device="cpu")
            visible, _ = split_indices(len(y_test))
            X_vis, y_vis = X_test.index_select(0, visible), y_test.index_select(0, visible)
            X_test.zero_()
            y_test.zero_()
            _worker_arrays = (X_train, y_train, X_vis, y_vis)
    return _worker_arrays


def batches(device="cpu", seed=config.SEED, arrays_=None):
    """(train_batches, test_batches) as d2l's load_data_fashion_mnist(BATCH_SIZE) yields them,
    the test batches holding only the visible test images.

    arrays_: (X_train, y_train, X_visible, y_visible) on the CPU (default: read them here).
    """
    fm = helper_module()
    X_train, y_train, X_vis, y_vis = arrays_ or visible_arrays()
    X_train, y_train, X_vis, y_vis = (t.to(str(device)) for t in (X_train, y_train, X_vis, y_vis))
    return (
        fm.TensorBatches(X_train, y_train, config.BATCH_SIZE, shuffle=True, seed=seed),
        fm.TensorBatches(X_vis, y_vis, config.BATCH_SIZE, shuffle=False),
    )


def visible_arrays():
    """(X_train, y_train, X_visible, y_visible) on the CPU, from this process's full copy."""
    X_train, y_train, X_test, y_test = arrays_cpu()
    visible, _ = split_indices(len(y_test))
    return X_train, y_train, X_test.index_select(0, visible), y_test.index_select(0, visible)
