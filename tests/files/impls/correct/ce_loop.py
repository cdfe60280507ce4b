"""cross_entropy picking each example's probability in a Python loop."""

import torch


def cross_entropy(y_hat, y):
    losses = [-torch.log(y_hat[i, int(y[i])].clamp(min=1e-20)) for i in range(len(y))]
    return torch.stack(losses)
