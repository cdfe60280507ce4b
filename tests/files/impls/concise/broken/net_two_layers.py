# ruff: noqa: F821 - init_weights comes from base.py
"""Two linear layers (784 -> 256 -> 10): still affine, but not softmax regression's single layer."""

import torch
from torch import nn

net = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.Linear(256, 10))
net.apply(init_weights)
trainer = torch.optim.SGD(net.parameters(), lr=0.1)
