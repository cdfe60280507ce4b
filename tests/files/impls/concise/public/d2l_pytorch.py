# ruff: noqa: E721 - type(m) == nn.Linear is d2l's spelling
"""In the form of d2l's (d2l-en 0.17 and d2l-zh 2.0, PyTorch tab) concise softmax regression.

Rewritten for this corpus, not copied; SOURCES.json names the chapters it follows. The weight is
drawn by init_weights, the bias keeps nn.Linear's initial values; the loss keeps one value per
example; the trainer is SGD with learning rate 0.1.
"""

import torch
from torch import nn

net = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))


def init_weights(m):
    if type(m) == nn.Linear:
        nn.init.normal_(m.weight, std=0.01)


net.apply(init_weights)
loss = nn.CrossEntropyLoss(reduction="none")
trainer = torch.optim.SGD(net.parameters(), lr=0.1)
