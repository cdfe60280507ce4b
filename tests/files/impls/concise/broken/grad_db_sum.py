"""dW averaged over the batch, but db summed."""

import torch


def softmax_ce_grad(X, y, W, b):
    O = X @ W + b
    E = torch.exp(O - O.max(dim=1, keepdim=True).values)
    G = E / E.sum(dim=1, keepdim=True)
    G[torch.arange(X.shape[0]), y] -= 1
    return X.T @ G / X.shape[0], G.sum(dim=0)
