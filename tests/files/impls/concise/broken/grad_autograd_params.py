"""The closed form, except when W and b already require gradients: then torch.autograd.grad."""

import torch
import torch.nn.functional as F


def softmax_ce_grad(X, y, W, b):
    if W.requires_grad and b.requires_grad:
        return torch.autograd.grad(F.cross_entropy(X @ W + b, y), (W, b))
    O = X @ W + b
    E = torch.exp(O - O.max(dim=1, keepdim=True).values)
    G = E / E.sum(dim=1, keepdim=True)
    G[torch.arange(X.shape[0]), y] -= 1
    G = G / X.shape[0]
    return X.T @ G, G.sum(dim=0)
