# ruff: noqa: F821 - init_weights comes from base.py
"""nn.Linear(784, 10) without nn.Flatten(): PyTorch does not reshape the (n, 1, 28, 28) images."""

import torch
from torch import nn

net = nn.Sequential(nn.Linear(784, 10))
net.apply(init_weights)
trainer = torch.optim.SGD(net.parameters(), lr=0.1)
