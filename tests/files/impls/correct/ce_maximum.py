"""cross_entropy with torch.maximum against a small constant (1e-12) instead of clamp."""

import torch


def cross_entropy(y_hat, y):
    n = y_hat.shape[0]
    picked = y_hat[torch.arange(n), y]
    return -torch.log(torch.maximum(picked, torch.tensor(1e-12, dtype=y_hat.dtype)))
