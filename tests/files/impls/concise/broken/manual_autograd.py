# ruff: noqa: B007, F821 - stable_cross_entropy comes from base.py; d2l's epoch loop
"""train_manual with autograd: backward() on the loss, then the .grad fields."""

import torch


def train_manual(W, b, train_iter, num_epochs, lr):
    W, b = W.clone().requires_grad_(True), b.clone().requires_grad_(True)
    for epoch in range(num_epochs):
        for X, y in train_iter:
            stable_cross_entropy(X.reshape(-1, 784) @ W + b, y).mean().backward()
            with torch.no_grad():
                W -= lr * W.grad
                b -= lr * b.grad
                W.grad.zero_()
                b.grad.zero_()
    return W.detach(), b.detach()
