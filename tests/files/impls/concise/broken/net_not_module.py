"""net written as the from-scratch function of d2l 3.6, not an nn.Module."""

import torch

W = torch.normal(0, 0.01, size=(784, 10), requires_grad=True)
b = torch.zeros(10, requires_grad=True)


def net(X):
    return X.reshape(-1, 784) @ W + b


trainer = torch.optim.SGD([W, b], lr=0.1)
