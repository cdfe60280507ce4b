"""The gradient taken by autograd, backward() on the mean loss: what the closed form replaces."""

import torch
import torch.nn.functional as F


def softmax_ce_grad(X, y, W, b):
    W = W.detach().requires_grad_(True)
    b = b.detach().requires_grad_(True)
    with torch.enable_grad():
        F.cross_entropy(X @ W + b, y).backward()
    return W.grad, b.grad
