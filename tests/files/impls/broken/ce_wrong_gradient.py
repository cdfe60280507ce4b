"""cross_entropy with exact values but a made-up gradient: the log is detached and a straight-
through term p - p.detach() (zero in value) carries a gradient of -1 instead of -1/p.

Every value check passes; only the gradient checks (closed form, and through torch's softmax in
the model) see it.
"""

import torch


def cross_entropy(y_hat, y):
    picked = y_hat[torch.arange(len(y_hat)), y].clamp(min=torch.finfo(y_hat.dtype).tiny)
    return -(torch.log(picked).detach() + picked - picked.detach())
