# ruff: noqa: E721 - type(m) == nn.Linear is d2l's spelling
"""d2l's init_weights sets the weight only: the bias keeps nn.Linear's small initial values."""

import torch
from torch import nn


def init_weights(m):
    if type(m) == nn.Linear:
        nn.init.normal_(m.weight, std=0.01)


net = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
net.apply(init_weights)
trainer = torch.optim.SGD(net.parameters(), lr=0.1)
