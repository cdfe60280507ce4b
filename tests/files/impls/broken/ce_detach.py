"""cross_entropy that detaches y_hat: correct values, but no gradient reaches the model."""

import torch


def cross_entropy(y_hat, y):
    probs = y_hat.detach()
    picked = probs[torch.arange(len(probs)), y]
    return -torch.log(picked.clamp(min=torch.finfo(probs.dtype).tiny))
