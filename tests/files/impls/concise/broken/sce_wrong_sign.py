"""The true class's logit minus log-sum-exp: the log-probability, not its negative."""

import torch


def stable_cross_entropy(o, y):
    m = o.max(dim=1, keepdim=True).values
    lse = m.squeeze(1) + torch.log(torch.exp(o - m).sum(dim=1))
    return o[torch.arange(len(y)), y] - lse
