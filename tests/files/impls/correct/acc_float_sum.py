"""accuracy returning float(sum) of a boolean comparison, ndim test."""


def accuracy(y_hat, y):
    preds = y_hat.argmax(axis=1) if y_hat.ndim == 2 and y_hat.shape[1] > 1 else y_hat
    return float(sum(preds.long() == y))
