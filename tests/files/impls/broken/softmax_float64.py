"""softmax that computes in float64 and returns float64 for a float32 input."""

import torch


def softmax(X):
    X = X.to(torch.float64)
    X_exp = torch.exp(X - X.max(dim=1, keepdim=True).values)
    return X_exp / X_exp.sum(1, keepdim=True)
