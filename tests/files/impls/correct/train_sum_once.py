# ruff: noqa: F821 - Accumulator, accuracy, evaluate_accuracy come from base.py
"""train_epoch_ch3 that sums the losses once: l.sum().backward() in d2l's sgd branch, and the sum
divided by the batch size (the mean) for a torch.optim optimizer chosen with isinstance as d2l does.
"""

import torch


def train_epoch_ch3(net, train_iter, loss, updater):
    metric = Accumulator(3)
    for X, y in train_iter:
        y_hat = net(X)
        total = loss(y_hat, y).sum()
        if isinstance(updater, torch.optim.Optimizer):
            updater.zero_grad()
            (total / X.shape[0]).backward()
            updater.step()
        else:
            total.backward()
            updater(X.shape[0])
        metric.add(total.item(), accuracy(y_hat.detach(), y), y.numel())
    return metric[0] / metric[2], metric[1] / metric[2]


def train_ch3(net, train_iter, test_iter, loss, num_epochs, updater):
    for _ in range(num_epochs):
        train_loss, train_acc = train_epoch_ch3(net, train_iter, loss, updater)
        test_acc = evaluate_accuracy(net, test_iter)
    return train_loss, train_acc, test_acc
