"""cross_entropy straight from d2l without a clamp: -log(0) = inf when a probability underflowed."""

import torch


def cross_entropy(y_hat, y):
    return -torch.log(y_hat[range(len(y_hat)), y])
