# ruff: noqa: B007, F821 - softmax_ce_grad comes from base.py; d2l's epoch loop
"""train_manual working on copies, with its own flattening and an enumerate."""


def train_manual(W, b, train_iter, num_epochs, lr):
    W, b = W.clone(), b.clone()
    for _ in range(num_epochs):
        for i, (X, y) in enumerate(train_iter):
            X = X.flatten(start_dim=1)
            grad_W, grad_b = softmax_ce_grad(X, y, W, b)
            W.sub_(lr * grad_W)
            b.sub_(lr * grad_b)
    return (W, b)
