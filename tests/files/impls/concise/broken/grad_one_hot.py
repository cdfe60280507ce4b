"""F.one_hot(y) without num_classes: too few columns when the last classes have no example."""

import torch
import torch.nn.functional as F


def softmax_ce_grad(X, y, W, b):
    O = X @ W + b
    E = torch.exp(O - O.max(dim=1, keepdim=True).values)
    P = E / E.sum(dim=1, keepdim=True)
    G = (P - F.one_hot(y).to(P.dtype)) / X.shape[0]
    return X.T @ G, G.sum(dim=0)
