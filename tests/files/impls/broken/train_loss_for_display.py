# ruff: noqa: F821 - Accumulator, Animator, accuracy, evaluate_accuracy come from base.py
"""train_epoch_ch3 that calls the given loss only for the printed training loss and backpropagates
its own unweighted cross-entropy.

The loss is called on every minibatch, and with d2l's cross_entropy (the end-to-end run) the
gradients are the same, so that run passes. With the grader's class-weighted loss the updates
differ from the first step on: the trajectory checks fail.
"""

import torch


def train_epoch_ch3(net, train_iter, loss, updater):
    metric = Accumulator(3)
    for X, y in train_iter:
        y_hat = net(X)
        shown = loss(y_hat, y)
        l = -torch.log(y_hat[range(len(y_hat)), y])
        if isinstance(updater, torch.optim.Optimizer):
            updater.zero_grad()
            l.mean().backward()
            updater.step()
        else:
            l.sum().backward()
            updater(X.shape[0])
        metric.add(float(shown.detach().sum()), accuracy(y_hat, y), y.numel())
    return metric[0] / metric[2], metric[1] / metric[2]


def train_ch3(net, train_iter, test_iter, loss, num_epochs, updater):
    for _ in range(num_epochs):
        train_loss, train_acc = train_epoch_ch3(net, train_iter, loss, updater)
        test_acc = evaluate_accuracy(net, test_iter)
    return train_loss, train_acc, test_acc
