"""The trainer built on another model's parameters: the graded net never learns."""

import torch
from torch import nn

trainer = torch.optim.SGD(nn.Sequential(nn.Flatten(), nn.Linear(784, 10)).parameters(), lr=0.1)
