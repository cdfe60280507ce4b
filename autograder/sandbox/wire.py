"""The grader-worker message format: JSON with tensors as base64 bytes (never pickle from a worker).

A worker runs untrusted code, so whatever it sends is parsed as data only: JSON, and tensors
rebuilt with ``torch.frombuffer`` from an allow-listed dtype and a checked shape.
"""

from __future__ import annotations

import base64
import json
import math

import torch

DTYPES = {
    "float32": torch.float32,
    "float64": torch.float64,
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "int64": torch.int64,
    "int32": torch.int32,
    "uint8": torch.uint8,
    "bool": torch.bool,
}
NAMES = {v: k for k, v in DTYPES.items()}
MAX_MESSAGE_BYTES = 64 * 1024**2


class WireError(ValueError):
    """A message that does not follow the format (from a broken or hostile worker)."""


def encode(obj):
    """Turn tensors (exactly torch.Tensor), numbers, strings, lists and dicts into JSON-able data."""
    if type(obj) is torch.Tensor:
        t = obj.detach().cpu().contiguous()
        if t.dtype not in NAMES:
            t = t.to(torch.float64)
        return {
            "__tensor__": NAMES[t.dtype],
            "shape": list(t.shape),
            "data": base64.b64encode(
                t.numpy().tobytes()
                if t.dtype != torch.bfloat16
                else t.view(torch.int16).numpy().tobytes()
            ).decode(),
        }
    if isinstance(obj, float) and not math.isfinite(obj):
        return {"__float__": repr(obj)}
    if obj is None or type(obj) in (bool, int, float, str):
        return obj
    if type(obj) in (list, tuple):
        return [encode(x) for x in obj]
    if type(obj) is dict:
        return {str(k): encode(v) for k, v in obj.items()}
    raise TypeError(f"cannot encode {type(obj).__name__}")


def decode(obj):
    """Inverse of encode; raises WireError on anything malformed."""
    if isinstance(obj, dict):
        if "__tensor__" in obj:
            return _tensor(obj)
        if "__float__" in obj:
            if obj["__float__"] not in ("nan", "inf", "-inf"):
                raise WireError("bad float")
            return float(obj["__float__"])
        return {k: decode(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [decode(x) for x in obj]
    if obj is None or type(obj) in (bool, int, float, str):
        return obj
    raise WireError(f"unexpected {type(obj).__name__}")


def _tensor(obj):
    """Rebuild a tensor from its encoded form, checking dtype, shape and size."""
    dtype = DTYPES.get(obj.get("__tensor__"))
    shape = obj.get("shape")
    if (
        dtype is None
        or not isinstance(shape, list)
        or not all(type(s) is int and s >= 0 for s in shape)
    ):
        raise WireError("bad tensor header")
    raw = base64.b64decode(obj.get("data", ""), validate=True)
    numel = math.prod(shape)
    itemsize = torch.empty((), dtype=dtype).element_size()
    if len(raw) != numel * itemsize:
        raise WireError("tensor size does not match its shape")
    if numel == 0:
        return torch.empty(shape, dtype=dtype)
    storage_dtype = torch.int16 if dtype == torch.bfloat16 else dtype
    t = torch.frombuffer(bytearray(raw), dtype=storage_dtype).clone()
    if dtype == torch.bfloat16:
        t = t.view(torch.bfloat16)
    return t.reshape(shape)


def dumps(obj) -> bytes:
    """Serialise one message."""
    return json.dumps(encode(obj), allow_nan=False).encode()


def loads(raw: bytes):
    """Parse one message; raises WireError if it is not a well-formed message."""
    if len(raw) > MAX_MESSAGE_BYTES:
        raise WireError("message too large")
    try:
        return decode(json.loads(raw))
    except (ValueError, TypeError, RecursionError) as err:
        raise WireError(str(err)) from err
