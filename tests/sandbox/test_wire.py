"""The worker message format parses data only, and rejects malformed messages (autograder/sandbox/wire.py)."""

import json
import os

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


def _sealed_against_library_patches(monkeypatch):
    """The body of the test below, run in a forked child."""
    import base64
    import binascii
    import struct

    X = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    message = {"op": "reply", "value": X, "n": [1, 2.5, float("inf")]}
    before = wire.dumps(message)

    def forged(*args, **kwargs):
        raise AssertionError("a patched library function was called")

    for module, names in ((json, ("dumps", "loads")), (base64, ("b64encode", "b64decode")),
                          (binascii, ("b2a_base64", "a2b_base64")), (struct, ("pack", "unpack")),
                          (torch, ("frombuffer", "empty")), (torch.Tensor, ("numpy", "detach", "cpu",
                          "contiguous", "view", "clone", "reshape"))):  # fmt: skip
        for name in names:
            monkeypatch.setattr(module, name, forged)
    monkeypatch.setattr(torch.Tensor, "dtype", property(lambda self: torch.float64))
    assert wire.dumps(message) == before
    back = wire.loads(before)
    assert torch.equal(back["value"], X) and back["n"][2] == float("inf")
    r, w = os.pipe()
    try:
        monkeypatch.setattr(os, "write", forged)
        monkeypatch.setattr(os, "read", forged)
        wire.Channel(w).send(message)
        got = wire.Channel(r).recv()
    finally:
        monkeypatch.undo()
        os.close(r)
        os.close(w)
    assert torch.equal(got["value"], X)


def _in_forked_child(body) -> None:
    """Run body() in a forked child and fail here with its error: the child has no other thread,
    so nothing else (pytest-xdist's I/O thread) calls the library functions body() patches."""
    write, read, exit_ = os.write, os.read, os._exit
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child: reported through the pipe
        try:
            body()
            result = b"ok"
        except BaseException as err:  # noqa: BLE001 - reported to the parent
            result = repr(err).encode()[:4000]
        write(w, result)
        exit_(0)
    os.close(w)
    chunks = []
    while chunk := read(r, 65536):
        chunks.append(chunk)
    os.close(r)
    os.waitpid(pid, 0)
    assert b"".join(chunks) == b"ok", b"".join(chunks).decode(errors="replace")


def test_sealed_against_library_patches(monkeypatch):
    """What a worker sends and reads never goes through a library function that student code could
    replace after import (json, base64, binascii, struct, os, torch.Tensor's methods): the
    reply-path forgery of tests/files/redteam/round2_harness.py (reply_path_via_parameter)."""
    _in_forked_child(lambda: _sealed_against_library_patches(monkeypatch))
