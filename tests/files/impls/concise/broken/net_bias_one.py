# ruff: noqa: E721 - type(m) == nn.Linear is d2l's spelling
"""The bias initialised to 1 instead of 0."""

import torch
from torch import nn


def init_weights(m):
    if type(m) == nn.Linear:
        nn.init.normal_(m.weight, std=0.01)
        nn.init.constant_(m.bias, 1.0)


net = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
net.apply(init_weights)
trainer = torch.optim.SGD(net.parameters(), lr=0.1)
