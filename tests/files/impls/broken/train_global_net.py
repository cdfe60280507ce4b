# ruff: noqa: F821 - Accumulator, accuracy, evaluate_accuracy, softmax come from base.py
"""train_ch3 that trains the notebook's global net (its own W and b) instead of its net argument.

Its loop is d2l's, so steps, zero_grad calls, loss calls and test passes are all right; but the
gradients reach the global W and b, the updater's parameters never change, and the grader's
parameters leave its SGD run after the first step.
"""

import torch

num_inputs, num_outputs = 784, 10
W = torch.normal(0, 0.01, size=(num_inputs, num_outputs), requires_grad=True)
b = torch.zeros(num_outputs, requires_grad=True)


def net(X):
    return softmax(torch.matmul(X.reshape((-1, W.shape[0])), W) + b)


def train_epoch_ch3(model, train_iter, loss, updater):
    metric = Accumulator(3)
    for X, y in train_iter:
        y_hat = net(X)
        l = loss(y_hat, y)
        if isinstance(updater, torch.optim.Optimizer):
            updater.zero_grad()
            l.mean().backward()
            updater.step()
        else:
            l.sum().backward()
            updater(X.shape[0])
        metric.add(float(l.detach().sum()), accuracy(y_hat, y), y.numel())
    return metric[0] / metric[2], metric[1] / metric[2]


def train_ch3(model, train_iter, test_iter, loss, num_epochs, updater):
    for _ in range(num_epochs):
        train_loss, train_acc = train_epoch_ch3(model, train_iter, loss, updater)
        test_acc = evaluate_accuracy(net, test_iter)
    return train_loss, train_acc, test_acc
