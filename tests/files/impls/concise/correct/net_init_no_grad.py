"""Parameters set under torch.no_grad() with in-place tensor methods, and a seed first."""

import torch
from torch import nn

torch.manual_seed(42)
net = nn.Sequential(nn.Flatten(start_dim=1), nn.Linear(784, 10, bias=True))
with torch.no_grad():
    net[1].weight.copy_(torch.randn(10, 784) * 0.01)
    net[1].bias.zero_()
trainer = torch.optim.SGD(net.parameters(), lr=0.1)
