"""softmax calling torch.softmax through a freshly reloaded torch module.

Reloading torch re-binds its Python names, so a grader that patched torch.softmax in Python would
no longer see the call. (In torch 2.x the reload stops with a RuntimeError at the C++ operator
registration, having already re-bound names such as the dtypes: tests/units/test_checks.py grades this
file in an interpreter of its own.) Either way the call reaches the kernel operator aten::_softmax
at torch's dispatcher, where the grader records it: forbidden in every softmax check.
"""

import importlib
import sys

import torch

try:
    fresh_torch = importlib.reload(torch)
except RuntimeError:  # "Only a single TORCH_LIBRARY can be used to register the namespace ..."
    fresh_torch = sys.modules["torch"]


def softmax(X):
    return fresh_torch.softmax(X, dim=1)
