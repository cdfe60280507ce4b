"""The grader-worker message format: JSON with tensors as base64 bytes (never pickle from a worker).

A worker runs untrusted code, so whatever it sends is parsed as data only: JSON, and tensors
rebuilt with ``torch.frombuffer`` from an allow-listed dtype and a checked shape.
"""

from __future__ import annotations

import base64
import json
import math
import os
import select
import struct
import time

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


class FrameTooLarge(WireError):
    """A frame whose header announces more than MAX_MESSAGE_BYTES (it is never read)."""


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


# -- framing: the grader reads and writes a worker's pipe itself, never blocking -----------------
# A frame is multiprocessing.Connection's: a 4-byte big-endian signed length, then the payload (a
# length of -1 announces an 8-byte one, which is always over MAX_MESSAGE_BYTES here). The worker
# uses Connection.send_bytes / recv_bytes; the grader uses these, on a non-blocking descriptor,
# so that a worker that sends half a frame, or stops reading, costs a deadline, not a hang.

HEADER = struct.Struct("!i")


def frame(payload: bytes) -> bytes:
    """`payload` as one frame (what Connection.send_bytes writes)."""
    return HEADER.pack(len(payload)) + payload


class FrameReader:
    """Reassembles frames from the bytes of a non-blocking descriptor, as they arrive."""

    def __init__(self, fd: int, limit: int = MAX_MESSAGE_BYTES):
        """`fd`: a descriptor in non-blocking mode; `limit`: the largest payload accepted."""
        self.fd, self.limit = fd, limit
        self.buf = bytearray()
        self.size: int | None = None
        self.since: float | None = None
        """time.monotonic() when the first byte of the frame being read arrived."""

    @property
    def started(self) -> bool:
        """Whether part of a frame has arrived (a reply has begun)."""
        return bool(self.buf) or self.size is not None

    def pump(self, timeout: float) -> bytes | None:
        """Wait up to `timeout` s for bytes, read what is there; a whole payload, or None.

        Raises EOFError when the other end closed mid-frame or before one, WireError when a
        header announces more than `limit` bytes (the frame is not read)."""
        if (done := self._take()) is not None:
            return done
        if not _ready(self.fd, select.POLLIN, timeout):
            return None
        for _ in range(64):  # what is there now, in chunks; bounded so the caller polls again
            if self.size is None:
                want = HEADER.size - len(self.buf)
            else:
                want = min(self.size - len(self.buf), 1 << 20)
            try:
                chunk = os.read(self.fd, want)
            except BlockingIOError:
                return None
            if not chunk:
                raise EOFError("the worker closed its end of the pipe")
            if not self.started:
                self.since = time.monotonic()
            self.buf += chunk
            if (done := self._take()) is not None:
                return done
        return None

    def _take(self) -> bytes | None:
        """Parse the header once it is whole; return the payload once it is whole."""
        if self.size is None and len(self.buf) >= HEADER.size:
            (size,) = HEADER.unpack(bytes(self.buf[: HEADER.size]))
            if size < 0 or size > self.limit:
                raise FrameTooLarge(f"a frame of {size} bytes announced (limit {self.limit})")
            self.size = size
            del self.buf[: HEADER.size]
        if self.size is not None and len(self.buf) >= self.size:
            payload = bytes(self.buf[: self.size])
            del self.buf[: self.size]
            self.size, self.since = None, (time.monotonic() if self.buf else None)
            return payload
        return None


def write_frame(fd: int, payload: bytes, deadline: float) -> bool:
    """Write one frame to non-blocking `fd` by time.monotonic() `deadline`; whether it all went.

    Raises OSError (BrokenPipeError) when the reader is gone."""
    view = memoryview(frame(payload))
    while view:
        left = deadline - time.monotonic()
        if left <= 0 or not _ready(fd, select.POLLOUT, min(left, 0.05)):
            if time.monotonic() >= deadline:
                return False
            continue
        try:
            view = view[os.write(fd, view) :]
        except BlockingIOError:
            continue
    return True


def _ready(fd: int, event: int, timeout: float) -> bool:
    """Whether `fd` is ready for `event` (or hung up / in error) within `timeout` s (poll(2): any
    descriptor number, unlike select)."""
    poller = select.poll()
    poller.register(fd, event)
    return bool(poller.poll(max(0, int(timeout * 1000))))
