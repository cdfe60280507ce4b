"""cross_entropy with take_along_dim and log of clamp."""

import torch


def cross_entropy(y_hat, y):
    picked = torch.take_along_dim(y_hat, y[:, None], dim=1)[:, 0]
    return torch.log(picked.clamp(min=torch.finfo(y_hat.dtype).tiny)).neg()
