"""cross_entropy summing -log over every class (torch.log(y_hat).sum(1)), not just the true one."""

import torch


def cross_entropy(y_hat, y):
    return -torch.log(y_hat).sum(1)
