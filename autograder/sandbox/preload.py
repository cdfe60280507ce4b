"""Imported by the fork server alone: what every worker shares, loaded once, copy-on-write after."""

import torch

from autograder.sandbox import worker

worker.preload()

# torch.optim's methods import torch._dynamo (sympy and all, seconds) on their first call
# (torch._disable_dynamo). Every worker trains with a torch.optim.SGD updater (the grader's
# model), so the fork server makes one here and pays that import once, not once per worker.
_param = torch.zeros(1, requires_grad=True)  # no backward: no autograd thread in the server
_sgd = torch.optim.SGD([_param], lr=0.1)
_sgd.step()
_sgd.zero_grad()
del _param, _sgd
