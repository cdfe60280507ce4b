"""Log-probabilities of every class, then the true one picked with a one-hot mask."""

import torch


def stable_cross_entropy(o, y):
    m = o.max(1, keepdim=True)[0]
    log_p = o - m - torch.log(torch.exp(o - m).sum(1, keepdim=True))
    mask = torch.zeros_like(o)
    mask[torch.arange(len(y)), y] = 1
    return -(mask * log_p).sum(1)
