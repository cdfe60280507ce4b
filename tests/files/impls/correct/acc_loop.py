"""accuracy counting matches in a Python loop."""


def accuracy(y_hat, y):
    count = 0
    for i in range(len(y)):
        pred = int(y_hat[i].argmax()) if y_hat.dim() > 1 and y_hat.shape[1] > 1 else int(y_hat[i])
        count += pred == int(y[i])
    return float(count)
