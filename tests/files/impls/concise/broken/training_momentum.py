# ruff: noqa: F821 - net comes from base.py
"""SGD with momentum: its second step also moves by the first gradient."""

import torch

trainer = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
