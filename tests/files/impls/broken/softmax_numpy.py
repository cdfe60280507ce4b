"""softmax computed in NumPy (.detach().numpy() round trip): no gradient reaches X."""

import numpy as np
import torch


def softmax(X):
    A = X.detach().cpu().numpy()
    A_exp = np.exp(A - A.max(axis=1, keepdims=True))
    return torch.from_numpy(A_exp / A_exp.sum(axis=1, keepdims=True)).to(X.device)
