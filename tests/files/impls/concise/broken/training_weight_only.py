# ruff: noqa: F821 - net comes from base.py
"""The trainer holds the weight only: the bias never moves."""

import torch

trainer = torch.optim.SGD([net[1].weight], lr=0.1)
