"""softmax calling the built-in torch.softmax (forbidden: it must be written from scratch).

Correct values, but every call reaches the kernel operator aten::_softmax, which the grader records
at torch's dispatcher on every path (in-process too); autograder.submissions.notebook.forbidden_uses also finds
the name in the source.
"""

import torch


def softmax(X):
    return torch.softmax(X, dim=1)
