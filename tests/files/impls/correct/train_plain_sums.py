# ruff: noqa: F821 - Accumulator, Animator, accuracy, evaluate_accuracy come from base.py
"""Training loop keeping plain Python sums instead of an Accumulator, zero_grad after step."""

import torch


def train_epoch_ch3(net, train_iter, loss, updater):
    total_loss, total_correct, total = 0.0, 0.0, 0
    for X, y in train_iter:
        y_hat = net(X)
        l = loss(y_hat, y)
        if isinstance(updater, torch.optim.Optimizer):
            l.mean().backward()
            updater.step()
            updater.zero_grad()
        else:
            l.sum().backward()
            updater(X.shape[0])
        total_loss += l.detach().sum().item()
        total_correct += accuracy(y_hat.detach(), y)
        total += len(y)
    return total_loss / total, total_correct / total


def train_ch3(net, train_iter, test_iter, loss, num_epochs, updater):
    history = []
    for _ in range(num_epochs):
        train_loss, train_acc = train_epoch_ch3(net, train_iter, loss, updater)
        history.append((train_loss, train_acc, evaluate_accuracy(net, test_iter)))
    return history[-1]
