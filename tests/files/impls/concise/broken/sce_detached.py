"""Right values rebuilt from a Python list: cut off from autograd."""

import torch


def stable_cross_entropy(o, y):
    m = o.max(dim=1, keepdim=True).values
    lse = m.squeeze(1) + torch.log(torch.exp(o - m).sum(dim=1))
    return torch.tensor((lse - o[torch.arange(len(y)), y]).tolist(), dtype=o.dtype)
