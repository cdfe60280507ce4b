# ruff: noqa: F821 - evaluate_accuracy comes from base.py
"""train_ch3 that measures the training accuracy with a separate evaluate_accuracy(net, train_iter)
pass after each epoch, besides the test accuracy.

The extra pass over train_iter must not change the batch order of later epochs (each shuffled pass
draws a new order), or this correct run would leave the grader's SGD trajectory at epoch 2.
"""

import torch


def train_ch3(net, train_iter, test_iter, loss, num_epochs, updater):
    for _ in range(num_epochs):
        for X, y in train_iter:
            l = loss(net(X), y)
            if isinstance(updater, torch.optim.Optimizer):
                updater.zero_grad()
                l.mean().backward()
                updater.step()
            else:
                l.sum().backward()
                updater(X.shape[0])
        train_acc = evaluate_accuracy(net, train_iter)
        test_acc = evaluate_accuracy(net, test_iter)
    return train_acc, test_acc
