"""softmax normalising columns of the transpose (X.T), then transposing back."""

import torch


def softmax(X):
    T = X.T
    T_exp = torch.exp(T - T.max(dim=0).values)
    return (T_exp / T_exp.sum(dim=0)).T
