# ruff: noqa: E721 - type(m) == nn.Linear is d2l's spelling
"""Uniform initial weights with standard deviation 0.01, not d2l's normal distribution."""

import torch
from torch import nn


def init_weights(m):
    if type(m) == nn.Linear:
        nn.init.uniform_(m.weight, -0.01 * 3**0.5, 0.01 * 3**0.5)
        nn.init.zeros_(m.bias)


net = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
net.apply(init_weights)
trainer = torch.optim.SGD(net.parameters(), lr=0.1)
