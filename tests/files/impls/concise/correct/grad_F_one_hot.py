"""F.one_hot with num_classes, and torch.softmax for the probabilities (allowed here)."""

import torch
import torch.nn.functional as F


def softmax_ce_grad(X, y, W, b):
    P = torch.softmax(X @ W + b, dim=1)
    Y = F.one_hot(y, num_classes=W.shape[1]).to(P.dtype)
    G = (P - Y) / len(y)
    return X.t() @ G, torch.sum(G, 0)
