# ruff: noqa: B007, F821 - softmax_ce_grad comes from base.py; d2l's epoch loop
"""train_manual updates local names and returns nothing."""


def train_manual(W, b, train_iter, num_epochs, lr):
    for epoch in range(num_epochs):
        for X, y in train_iter:
            dW, db = softmax_ce_grad(X.reshape(-1, 784), y, W, b)
            W = W - lr * dW
            b = b - lr * db
