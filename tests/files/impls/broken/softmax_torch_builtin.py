"""softmax calling the built-in torch.softmax (forbidden: it must be written from scratch).

Correct values, so the in-process path (which has no built-in detection) gives full marks; the
worker path and autograder.notebook.forbidden_uses must reject it.
"""

import torch


def softmax(X):
    return torch.softmax(X, dim=1)
