"""accuracy that subtracts the predictions from y in place and counts the zeros."""


def accuracy(y_hat, y):
    if len(y_hat.shape) > 1 and y_hat.shape[1] > 1:
        y_hat = y_hat.argmax(axis=1)
    y -= y_hat.type(y.dtype)
    return float((y == 0).sum())
