"""cross_entropy returning the summed loss instead of the per-example losses."""

import torch


def cross_entropy(y_hat, y):
    picked = y_hat[torch.arange(len(y_hat)), y]
    return -torch.log(picked.clamp(min=torch.finfo(y_hat.dtype).tiny)).sum()
