# ruff: noqa: F821 - net comes from base.py
"""torch.optim.SGD with lr=0.01 instead of d2l's 0.1."""

import torch

trainer = torch.optim.SGD(net.parameters(), lr=0.01)
