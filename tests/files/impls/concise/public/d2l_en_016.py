# ruff: noqa: E721 - type(m) == nn.Linear is d2l's spelling
"""In the form of d2l-en 0.16's PyTorch tab: d2l's net and trainer, with the default mean loss.

Rewritten for this corpus, not copied (SOURCES.json). The loss averages the batch
(nn.CrossEntropyLoss()), which this assignment's loss check does not accept: it asks for
reduction='none', as d2l-zh and later d2l-en editions write.
"""

import torch
from torch import nn

net = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))


def init_weights(m):
    if type(m) == nn.Linear:
        nn.init.normal_(m.weight, std=0.01)


net.apply(init_weights)
loss = nn.CrossEntropyLoss()
trainer = torch.optim.SGD(net.parameters(), lr=0.1)
