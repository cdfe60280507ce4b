"""softmax with amax and unsqueeze instead of keepdim=True."""

import torch


def softmax(X):
    X_exp = torch.exp(X - X.amax(dim=1).unsqueeze(1))
    return X_exp / X_exp.sum(dim=1).unsqueeze(1)
