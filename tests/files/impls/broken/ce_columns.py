"""cross_entropy indexing y_hat[:, y]: picks whole columns, an (n, n) result."""

import torch


def cross_entropy(y_hat, y):
    return -torch.log(y_hat[:, y].clamp(min=torch.finfo(y_hat.dtype).tiny))
