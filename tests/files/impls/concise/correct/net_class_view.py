"""A module class that reshapes in forward and initialises its layer in __init__."""

import torch
from torch import nn


class SoftmaxRegression(nn.Module):
    def __init__(self, num_inputs=784, num_outputs=10):
        super().__init__()
        self.num_inputs = num_inputs
        self.out = nn.Linear(num_inputs, num_outputs)
        nn.init.normal_(self.out.weight, mean=0.0, std=0.01)
        nn.init.zeros_(self.out.bias)

    def forward(self, X):
        return self.out(X.view(X.shape[0], self.num_inputs))


net = SoftmaxRegression()
trainer = torch.optim.SGD(net.parameters(), lr=0.1)
