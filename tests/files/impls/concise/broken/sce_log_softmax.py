"""torch's own log_softmax: what the function is meant to write by hand."""

import torch
import torch.nn.functional as F


def stable_cross_entropy(o, y):
    return -F.log_softmax(o, dim=1)[torch.arange(len(y)), y]
