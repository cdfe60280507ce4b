"""accuracy with count_nonzero and int."""

import torch


def accuracy(y_hat, y):
    pred = y_hat.max(dim=1).indices if y_hat.dim() == 2 and y_hat.size(1) > 1 else y_hat
    return int(torch.count_nonzero(pred.type(y.dtype) == y))
