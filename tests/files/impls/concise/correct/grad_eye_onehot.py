"""One-hot labels as rows of an identity matrix; db as the mean of the rows."""

import torch


def softmax_ce_grad(X, y, W, b):
    logits = torch.matmul(X, W) + b
    logits = logits - logits.max(dim=1, keepdim=True).values
    P = torch.exp(logits) / torch.exp(logits).sum(dim=1, keepdim=True)
    Y = torch.eye(W.shape[1], dtype=X.dtype, device=X.device)[y]
    n = X.shape[0]
    return X.T @ (P - Y) / n, (P - Y).mean(dim=0)
