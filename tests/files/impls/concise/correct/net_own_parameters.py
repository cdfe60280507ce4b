"""The from-scratch W (784, 10) and b as nn.Parameters of a module: X.reshape(-1, 784) @ W + b."""

import torch
from torch import nn


class Linear784(nn.Module):
    def __init__(self):
        super().__init__()
        self.W = nn.Parameter(torch.randn(784, 10) * 0.01)
        self.b = nn.Parameter(torch.zeros(10))

    def forward(self, X):
        return X.reshape(-1, 784) @ self.W + self.b


net = Linear784()
trainer = torch.optim.SGD(net.parameters(), lr=0.1)
