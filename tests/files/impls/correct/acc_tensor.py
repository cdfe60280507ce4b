"""accuracy returning a 0-d tensor count (float), via eq and reshape."""

import torch


def accuracy(y_hat, y):
    if len(y_hat.shape) > 1 and y_hat.shape[1] > 1:
        y_hat = torch.argmax(y_hat, 1)
    return torch.eq(y_hat.reshape(y.shape).type(y.dtype), y).float().sum()
