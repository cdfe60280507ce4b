"""softmax with torch.max(...).values and reshape(-1, 1), negative axis."""

import torch


def softmax(X):
    X_exp = torch.exp(X - torch.max(X, dim=-1).values.reshape(-1, 1))
    partition = torch.sum(X_exp, dim=-1).reshape(-1, 1)
    return X_exp / partition
