# ruff: noqa: F821 - Accumulator, Animator, accuracy, evaluate_accuracy come from base.py
"""Training loop pulling batches with iter()/next() and a while loop, epochs counted down."""

import torch


def train_epoch_ch3(net, train_iter, loss, updater):
    metric = Accumulator(3)
    batches = iter(train_iter)
    while True:
        try:
            X, y = next(batches)
        except StopIteration:
            break
        y_hat = net(X)
        l = loss(y_hat, y)
        if isinstance(updater, torch.optim.Optimizer):
            updater.zero_grad(set_to_none=True)
            l.mean().backward()
            updater.step()
        else:
            l.sum().backward()
            updater(y.shape[0])
        metric.add(l.sum(), accuracy(y_hat, y), y.numel())
    return metric[0] / metric[2], metric[1] / metric[2]


def train_ch3(net, train_iter, test_iter, loss, num_epochs, updater):
    animator = Animator(xlabel="epoch", legend=["train loss", "train acc", "test acc"])
    epoch = 0
    while epoch < num_epochs:
        train_loss, train_acc = train_epoch_ch3(net, train_iter, loss, updater)
        test_acc = evaluate_accuracy(net, test_iter)
        epoch += 1
        animator.add(epoch, (train_loss, train_acc, test_acc))
    return train_loss, train_acc, test_acc
