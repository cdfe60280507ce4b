"""softmax returning log-probabilities (log-softmax) instead of probabilities."""

import torch


def softmax(X):
    shifted = X - X.max(dim=1, keepdim=True).values
    return shifted - torch.log(torch.exp(shifted).sum(1, keepdim=True))
