"""nn.CrossEntropyLoss() with its default reduction='mean': one number, not one loss per example."""

from torch import nn

loss = nn.CrossEntropyLoss()
