"""softmax normalising each column (dim=0) instead of each row."""

import torch


def softmax(X):
    X_exp = torch.exp(X - X.max(dim=0, keepdim=True).values)
    return X_exp / X_exp.sum(0, keepdim=True)
