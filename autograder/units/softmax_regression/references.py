"""The grader's own reference implementations and closed forms (never sent to a worker as code,
except softmax/cross_entropy as the grader's model when only train_ch3 is judged)."""

from __future__ import annotations

import threading

import torch


def softmax(X):
    """Row-wise softmax, stable. X: (n, q) float tensor -> (n, q) of the same dtype."""
    X_shift = X - X.max(dim=1, keepdim=True).values
    X_exp = torch.exp(X_shift)
    return X_exp / X_exp.sum(dim=1, keepdim=True)


def cross_entropy(y_hat, y):
    """Per-example loss -log y_hat[i, y_i], finite at 0. y_hat: (n, q) probs, y: (n,) int64 -> (n,)."""
    picked = y_hat[torch.arange(y_hat.shape[0], device=y_hat.device), y]
    return -torch.log(picked.clamp_min(torch.finfo(y_hat.dtype).tiny))


def accuracy(y_hat, y):
    """Number of correct predictions as a float. y_hat: (n, q) scores or (n,) labels, y: (n,)."""
    if y_hat.dim() > 1 and y_hat.shape[1] > 1:
        y_hat = y_hat.argmax(dim=1)
    return float((y_hat.type(y.dtype) == y).sum())


def softmax64(X):
    """Reference softmax computed in float64 (for comparing float32 results)."""
    return softmax(X.to(torch.float64))


def log_softmax64(X):
    """Reference log-softmax in float64 (used to recognise students who return log-probabilities)."""
    X = X.to(torch.float64)
    return (
        X
        - X.max(1, keepdim=True).values
        - torch.log(torch.exp(X - X.max(1, keepdim=True).values).sum(1, keepdim=True))
    )


def onehot(y, q, dtype=torch.float64):
    """y: (n,) int64 -> (n, q) one-hot float."""
    out = torch.zeros(y.shape[0], q, dtype=dtype)
    out[torch.arange(y.shape[0]), y] = 1
    return out


def grad_mean_loss_wrt_logits(O, y):
    """Closed form d mean_i CE(softmax(O_i), y_i) / dO = (softmax(O) - onehot(y)) / n."""
    return (softmax64(O) - onehot(y, O.shape[1])) / O.shape[0]


def grad_mean_loss_wrt_params(X, W, b, y):
    """Closed forms for the model softmax(XW + b): dW = -1/m sum_i (1{y_i=q} - P(q|x_i)) x_i, db likewise."""
    X, W, b = X.to(torch.float64), W.to(torch.float64), b.to(torch.float64)
    P = softmax64(X @ W + b)
    E = onehot(y, W.shape[1]) - P
    return -(X.T @ E) / X.shape[0], -E.sum(0) / X.shape[0]


def grad_mean_ce_wrt_probs(P, y):
    """d mean_i CE(P_i, y_i) / dP: -1 / (n P[i, y_i]) at the true class, 0 elsewhere."""
    P = P.to(torch.float64)
    G = torch.zeros_like(P)
    rows = torch.arange(P.shape[0])
    G[rows, y] = -1.0 / (P.shape[0] * P[rows, y])
    return G


def test_accuracy(W, b, X_test, y_test):
    """Fraction of test images the linear softmax model (W, b) classifies correctly (NaN-safe)."""
    W, b = W.to(X_test.device, torch.float32), b.to(X_test.device, torch.float32)
    logits = X_test.reshape(-1, W.shape[0]) @ W + b
    if not torch.isfinite(logits).all():
        return 0.0
    return float((logits.argmax(1) == y_test).float().mean())


def _sgd_run(mode):
    """d2l's training loop with the grader's model (`mode` as in calls.run_training), on the CPU.

    Returns {"snapshots": {step: [W, b]}, "W", "b"} taken at the same points as a worker's run.
    """
    from autograder import config
    from autograder.units.softmax_regression import calls, data

    W, b = calls.initial_parameters("cpu", config.SEED)
    if mode == "grader_model":
        loss, epochs, optimizer = calls.grader_loss("cpu"), config.TRAJECTORY_EPOCHS, True
    else:
        loss, epochs, optimizer = cross_entropy, 1, False
    net = calls.linear_net(lambda O: torch.softmax(O, dim=1), W, b)
    train_iter, _ = data.batches("cpu")
    snapshots = calls.Snapshots([W, b], config.TRAJECTORY_STEPS, len(train_iter))
    updater = (
        calls.CountingSGD([W, b], config.LR, snapshots)
        if optimizer
        else calls.CountingUpdater([W, b], config.LR, snapshots)
    )
    for _ in range(epochs):
        for X, y in train_iter:
            l = loss(net(X), y)
            if optimizer:
                updater.zero_grad()
                l.mean().backward()
                updater.step()
            else:
                l.sum().backward()
                updater(X.shape[0])
    return {"snapshots": snapshots.taken, "W": W.detach().clone(), "b": b.detach().clone()}


_runs: dict = {}
_runs_lock = threading.Lock()  # forkserver.start() computes them in a background thread


def sgd_run(mode):
    """The grader's own SGD run of `mode`, computed once per process (same batches as a worker), or
    read from the cache of earlier processes (checks.runcache)."""
    from autograder.checks import runcache
    from autograder.units.softmax_regression import data

    with _runs_lock:
        if mode not in _runs:
            _runs[mode] = runcache.cached(
                __package__, mode, lambda: _sgd_run(mode), data.identity()
            )
        return _runs[mode]


def relative_difference(got, want):
    """max |got - want| / max |want| over parameter lists (inf when shapes differ or not finite)."""
    worst = 0.0
    for g, w in zip(got, want):
        if not isinstance(g, torch.Tensor) or g.shape != w.shape:
            return float("inf")
        g = g.to(torch.float64)
        if not torch.isfinite(g).all():
            return float("inf")
        scale = float(w.abs().max()) or 1.0
        worst = max(worst, float((g - w.to(torch.float64)).abs().max()) / scale)
    return worst
