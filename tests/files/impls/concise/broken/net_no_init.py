"""The net without d2l's init_weights: nn.Linear's default (uniform) initial weights stay."""

import torch
from torch import nn

net = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
trainer = torch.optim.SGD(net.parameters(), lr=0.1)
