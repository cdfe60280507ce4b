"""accuracy that always takes argmax(axis=1): fails on 1-D predicted labels."""


def accuracy(y_hat, y):
    cmp = y_hat.argmax(axis=1).type(y.dtype) == y
    return float(cmp.sum())
