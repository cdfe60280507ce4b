# ruff: noqa: F821 - Accumulator, Animator, accuracy, evaluate_accuracy come from base.py
"""Training loop with enumerate, the optimizer's zero_grad at the top of each batch."""

import torch


def train_epoch_ch3(net, train_iter, loss, updater):
    use_optimizer = isinstance(updater, torch.optim.Optimizer)
    metric = Accumulator(3)
    for _, (X, y) in enumerate(train_iter):
        if use_optimizer:
            updater.zero_grad()
        y_hat = net(X)
        l = loss(y_hat, y)
        (l.mean() if use_optimizer else l.sum()).backward()
        if use_optimizer:
            updater.step()
        else:
            updater(len(X))
        metric.add(float(l.sum()), accuracy(y_hat, y), y.numel())
    return metric[0] / metric[2], metric[1] / metric[2]


def train_ch3(net, train_iter, test_iter, loss, num_epochs, updater):
    animator = Animator(
        xlabel="epoch", xlim=[1, num_epochs], legend=["train loss", "train acc", "test acc"]
    )
    results = None
    for epoch in range(num_epochs):
        train_loss, train_acc = train_epoch_ch3(net, train_iter, loss, updater)
        results = (train_loss, train_acc, evaluate_accuracy(net, test_iter))
        animator.add(epoch + 1, results)
    return results
