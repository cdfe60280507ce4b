"""softmax via the log-sum-exp trick: exp(X - logsumexp(X))."""

import torch


def softmax(X):
    m = X.max(dim=1, keepdim=True).values
    lse = m + torch.log(torch.exp(X - m).sum(dim=1, keepdim=True))
    return torch.exp(X - lse)
