"""softmax reaching torch's softmax kernel through a name computed at run time.

getattr(torch.ops.aten, "_soft" + "max") names no built-in a source scan can see, and it goes
below every Python-level wrapper; the grader records kernel operators at torch's dispatcher, where
it arrives as aten::_softmax, so every softmax check rejects it as forbidden.
"""

import torch


def softmax(X):
    kernel = getattr(torch.ops.aten, "_soft" + "max")
    return kernel(X, 1, False)
