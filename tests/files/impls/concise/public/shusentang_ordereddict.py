"""In the form of Dive-into-DL-PyTorch 3.7's second model: FlattenLayer in an OrderedDict Sequential.

Rewritten for this corpus, not copied (SOURCES.json). The optimizer renamed `trainer` as above;
the loss here keeps one value per example, as this assignment asks.
"""

from collections import OrderedDict

import torch
from torch import nn
from torch.nn import init

num_inputs, num_outputs = 784, 10


class FlattenLayer(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x):
        return x.view(x.shape[0], -1)


net = nn.Sequential(
    OrderedDict([("flatten", FlattenLayer()), ("linear", nn.Linear(num_inputs, num_outputs))])
)
init.normal_(net.linear.weight, mean=0, std=0.01)
init.constant_(net.linear.bias, val=0)
loss = nn.CrossEntropyLoss(reduction="none")
trainer = torch.optim.SGD(net.parameters(), lr=0.1)
