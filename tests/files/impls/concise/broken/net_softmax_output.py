# ruff: noqa: F821 - init_weights comes from base.py
"""A softmax layer at the end of the net: nn.CrossEntropyLoss takes logits (and the net is not affine)."""

import torch
from torch import nn

net = nn.Sequential(nn.Flatten(), nn.Linear(784, 10), nn.Softmax(dim=1))
net.apply(init_weights)
trainer = torch.optim.SGD(net.parameters(), lr=0.1)
