"""accuracy returning the per-example comparison instead of summing it to one number."""


def accuracy(y_hat, y):
    if len(y_hat.shape) > 1 and y_hat.shape[1] > 1:
        y_hat = y_hat.argmax(axis=1)
    return (y_hat.type(y.dtype) == y).float()
