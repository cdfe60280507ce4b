"""cross_entropy clamping with torch.where instead of clamp."""

import torch


def cross_entropy(y_hat, y):
    picked = y_hat[range(len(y_hat)), y]
    tiny = torch.finfo(y_hat.dtype).tiny
    safe = torch.where(picked > tiny, picked, torch.full_like(picked, tiny))
    return -torch.log(safe)
