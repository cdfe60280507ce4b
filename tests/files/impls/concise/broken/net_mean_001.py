# ruff: noqa: E721 - type(m) == nn.Linear is d2l's spelling
"""nn.init.normal_(w, 0.01): the second positional argument is the mean, so std stays 1."""

import torch
from torch import nn


def init_weights(m):
    if type(m) == nn.Linear:
        nn.init.normal_(m.weight, 0.01)
        nn.init.zeros_(m.bias)


net = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
net.apply(init_weights)
trainer = torch.optim.SGD(net.parameters(), lr=0.1)
