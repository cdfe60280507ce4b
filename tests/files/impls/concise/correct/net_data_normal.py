"""The initialisation of d2l's concise linear regression: .data.normal_ and .data.fill_."""

import torch
from torch import nn

net = nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 10))
net[1].weight.data.normal_(0, 0.01)
net[1].bias.data.fill_(0)
trainer = torch.optim.SGD(net.parameters(), lr=0.1)
