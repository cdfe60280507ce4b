"""The grader's own implementations for this unit: cross-entropy from logits, its gradient in
closed form and through autograd, and the closed-form SGD run train_manual is compared with.

Never sent to a worker; numerically stable, float64 wherever a value is judged.
"""

from __future__ import annotations

import threading

import torch
import torch.nn.functional as F

from autograder.units.softmax_regression.references import (  # noqa: F401 - re-exported
    onehot,
    relative_difference,
    softmax,
    softmax64,
    test_accuracy,
)


def cross_entropy_from_logits(O, y):
    """Per-example -log softmax(O)[i, y_i] by LogSumExp, in float64. O: (n, q), y: (n,) -> (n,)."""
    O = O.to(torch.float64)
    m = O.max(dim=1, keepdim=True).values
    lse = m.reshape(-1) + torch.log(torch.exp(O - m).sum(dim=1))
    return lse - O[torch.arange(O.shape[0]), y]


def grad_mean_ce_wrt_logits(O, y):
    """d mean_i CE(O_i, y_i) / dO = (softmax(O) - onehot(y)) / n, in float64."""
    return (softmax64(O) - onehot(y, O.shape[1])) / O.shape[0]


def ce_grad_closed_form(X, y, W, b):
    """(dW, db) of the mean loss of softmax(XW + b): X^T (Y_hat - Y) / n and the rows' mean, float64."""
    X, W, b = (t.to(torch.float64) for t in (X, W, b))
    G = grad_mean_ce_wrt_logits(X @ W + b, y)
    return X.T @ G, G.sum(0)


def ce_grad_autograd(X, y, W, b):
    """(dW, db) of mean F.cross_entropy(XW + b, y) by torch's autograd, in float64."""
    W = W.detach().to(torch.float64).requires_grad_(True)
    b = b.detach().to(torch.float64).requires_grad_(True)
    loss = F.cross_entropy(X.to(torch.float64) @ W + b, y)
    dW, db = torch.autograd.grad(loss, (W, b))
    return dW, db


def manual_step(X, y, W, b, lr):
    """One step of minibatch SGD by the closed form, in the parameters' dtype (float32)."""
    X = X.reshape(-1, W.shape[0])
    G = softmax(X @ W + b)
    G[torch.arange(X.shape[0], device=X.device), y] -= 1
    G /= X.shape[0]
    return W - lr * (X.T @ G), b - lr * G.sum(0)


def manual_run(epochs, device="cpu"):
    """The grader's train_manual: d2l's initialisation, `epochs` epochs of the closed-form SGD over
    the same batches as a worker's run. Returns {"W", "b", "snapshots": {}}."""
    from autograder import config
    from autograder.units.softmax_regression_concise import calls, data

    W, b = calls.initial_parameters(device, config.SEED)
    train_iter, _ = data.batches(device)
    for _ in range(epochs):
        for X, y in train_iter:
            W, b = manual_step(X, y, W, b, config.LR)
    return {"W": W.cpu(), "b": b.cpu(), "snapshots": {}}


_runs: dict = {}
_runs_lock = threading.Lock()  # the fork server computes them in a background thread


def sgd_run(mode):
    """The grader's own run of training mode `mode` (unit.REFERENCE_RUNS), once per process, or read
    from the cache of earlier processes (checks.runcache)."""
    from autograder.units.softmax_regression_concise import unit

    if mode != "manual_epoch":
        raise KeyError(f"no reference run for training mode {mode!r}")
    from autograder.checks import runcache
    from autograder.units.softmax_regression_concise import data

    with _runs_lock:
        if mode not in _runs:
            run = lambda: manual_run(unit.MANUAL_TRAJECTORY_EPOCHS)  # noqa: E731
            _runs[mode] = runcache.cached(__package__, mode, run, data.identity())
        return _runs[mode]
