# ruff: noqa: F821 - Accumulator, Animator, accuracy, evaluate_accuracy come from base.py
"""Training loop with the update in a helper function, optimizer detected by hasattr(step)."""

import torch


def _update(updater, l, batch_size):
    if hasattr(updater, "step") and hasattr(updater, "zero_grad"):
        updater.zero_grad()
        l.mean().backward()
        updater.step()
    else:
        l.sum().backward()
        updater(batch_size)


def train_epoch_ch3(net, train_iter, loss, updater):
    if isinstance(net, torch.nn.Module):
        net.train()
    sums = Accumulator(3)
    for X, y in train_iter:
        y_hat = net(X)
        l = loss(y_hat, y)
        _update(updater, l, X.shape[0])
        with torch.no_grad():
            sums.add(l.sum(), accuracy(y_hat, y), y.numel())
    return sums[0] / sums[2], sums[1] / sums[2]


def train_ch3(net, train_iter, test_iter, loss, num_epochs, updater):
    for _epoch in range(1, num_epochs + 1):
        metrics = train_epoch_ch3(net, train_iter, loss, updater)
        test_acc = evaluate_accuracy(net, test_iter)
    return (*metrics, test_acc)
