"""The worker message format parses data only, and rejects malformed messages (autograder/sandbox/wire.py)."""

import json

import pytest
import torch

from autograder.sandbox import wire


@pytest.mark.parametrize(
    "dtype", [torch.float32, torch.float64, torch.int64, torch.bool, torch.bfloat16]
)
def test_tensors_round_trip_exactly(dtype):
    t = (torch.randn(3, 4) * 10).to(dtype)
    back = wire.loads(wire.dumps({"value": t, "n": [1, 2.5, float("nan")]}))
    assert back["value"].dtype == dtype and torch.equal(back["value"], t)
    assert back["n"][0] == 1 and back["n"][2] != back["n"][2]


@pytest.mark.parametrize(
    "message",
    [
        b"not json",
        json.dumps({"x": {"__tensor__": "object", "shape": [1], "data": ""}}).encode(),
        json.dumps({"x": {"__tensor__": "float32", "shape": [4], "data": "AAAA"}}).encode(),
        json.dumps({"x": {"__tensor__": "float32", "shape": [-1], "data": ""}}).encode(),
        json.dumps({"x": {"__float__": "__import__('os')"}}).encode(),
    ],
)
def test_malformed_messages_are_rejected(message):
    with pytest.raises(wire.WireError):
        wire.loads(message)


def test_subclasses_are_not_encoded_as_tensors():
    class Fake(torch.Tensor):
        pass

    with pytest.raises(TypeError):
        wire.dumps(torch.zeros(2).as_subclass(Fake))
