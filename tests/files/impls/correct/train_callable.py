# ruff: noqa: F821 - Accumulator, Animator, accuracy, evaluate_accuracy come from base.py
"""Training loop telling a function updater from an optimizer with callable(), counting batches."""

import torch


def train_epoch_ch3(net, train_iter, loss, updater):
    loss_sum, correct, count = 0.0, 0.0, 0
    for X, y in train_iter:
        out = net(X)
        losses = loss(out, y)
        if callable(updater) and not isinstance(updater, torch.optim.Optimizer):
            losses.sum().backward()
            updater(X.shape[0])
        else:
            updater.zero_grad()
            losses.mean().backward()
            updater.step()
        loss_sum += float(losses.sum())
        correct += float(accuracy(out, y))
        count += y.numel()
    return loss_sum / count, correct / count


def train_ch3(net, train_iter, test_iter, loss, num_epochs, updater):
    last = ()
    for _ in range(num_epochs):
        last = train_epoch_ch3(net, train_iter, loss, updater) + (
            evaluate_accuracy(net, test_iter),
        )
    return last
