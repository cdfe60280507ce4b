# ruff: noqa: F821 - Accumulator, accuracy, evaluate_accuracy come from base.py
"""train_epoch_ch3 whose optimizer path calls updater.zero_grad() between backward() and step():
the gradients are cleared before they are used, so no step changes the parameters.

One zero_grad per step, as counted before; only the trajectory shows that nothing was learned.
The from-scratch sgd path (end to end) is d2l's and passes.
"""

import torch


def train_epoch_ch3(net, train_iter, loss, updater):
    metric = Accumulator(3)
    for X, y in train_iter:
        y_hat = net(X)
        l = loss(y_hat, y)
        if isinstance(updater, torch.optim.Optimizer):
            l.mean().backward()
            updater.zero_grad()
            updater.step()
        else:
            l.sum().backward()
            updater(X.shape[0])
        metric.add(float(l.detach().sum()), accuracy(y_hat, y), y.numel())
    return metric[0] / metric[2], metric[1] / metric[2]


def train_ch3(net, train_iter, test_iter, loss, num_epochs, updater):
    for _ in range(num_epochs):
        train_loss, train_acc = train_epoch_ch3(net, train_iter, loss, updater)
        test_acc = evaluate_accuracy(net, test_iter)
    return train_loss, train_acc, test_acc
