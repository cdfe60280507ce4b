# ruff: noqa: F821 - init_weights comes from base.py
"""A module class whose forward squeezes its output: a batch of one image loses its batch dimension."""

import torch
from torch import nn


class LinearNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(784, 10)

    def forward(self, x):
        return self.linear(x.reshape(-1, 784)).squeeze()


net = LinearNet()
net.apply(init_weights)
trainer = torch.optim.SGD(net.parameters(), lr=0.1)
