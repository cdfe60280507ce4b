"""The grader-worker message format: JSON with tensors as base64 bytes (never pickle from a worker).

A worker runs untrusted code, so whatever it sends is parsed as data only: JSON, and tensors
rebuilt with ``torch.frombuffer`` from an allow-listed dtype and a checked shape.

Sealed: in a worker this module is imported before any student code runs, and everything it
calls while encoding, decoding and framing is a C function captured here at import (the C JSON
encoder and scanner, binascii, os.read/os.write, a struct.Struct, torch's TensorBase methods and
descriptors). Student code that replaces ``json.dumps``, ``base64.b64encode``, ``struct.pack`` or
``torch.Tensor.numpy`` (for example through a function's parameter, which the static gate cannot
follow) changes nothing the worker sends or reads (``Channel``).
"""

from __future__ import annotations

import binascii
import json
import json.decoder
import json.encoder
import json.scanner
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


# -- captured at import, before any student code (see the module docstring) ---------------------
_TB = torch._C.TensorBase
_Tensor = torch.Tensor
_detach, _cpu, _contiguous, _to, _view = _TB.detach, _TB.cpu, _TB.contiguous, _TB.to, _TB.view
_numpy, _clone, _reshape, _element_size = _TB.numpy, _TB.clone, _TB.reshape, _TB.element_size
_dtype_of = _TB.__dict__["dtype"].__get__
_shape_of = _TB.__dict__["shape"].__get__
_frombuffer, _empty = torch.frombuffer, torch.empty
_float64, _int16, _bfloat16 = torch.float64, torch.int16, torch.bfloat16
_b2a, _a2b = binascii.b2a_base64, binascii.a2b_base64
_isfinite, _prod = math.isfinite, math.prod
_os_read, _os_write = os.read, os.write


def _refuse_default(obj):
    """The encoder's hook for objects it cannot write (encode() leaves none)."""
    raise TypeError(f"cannot encode {type(obj).__name__}")


_encode_json = json.encoder.c_make_encoder(
    None, _refuse_default, json.encoder.c_encode_basestring_ascii, None, ":", ",", False, False,
    False,
)  # fmt: skip
"""The C encoder, configured once: compact, ASCII, no NaN (json.dumps(..., allow_nan=False))."""
_scan_json = json.scanner.c_make_scanner(json.decoder.JSONDecoder())
"""The C scanner, configured once (json.loads' defaults)."""


class WireError(ValueError):
    """A message that does not follow the format (from a broken or hostile worker)."""


class FrameTooLarge(WireError):
    """A frame whose header announces more than MAX_MESSAGE_BYTES (it is never read)."""


def encode(obj):
    """Turn tensors (exactly torch.Tensor), numbers, strings, lists and dicts into JSON-able data."""
    if type(obj) is _Tensor:
        t = _contiguous(_cpu(_detach(obj)))
        if _dtype_of(t) not in NAMES:
            t = _to(t, _float64)
        dtype = _dtype_of(t)
        raw = _numpy(t if dtype != _bfloat16 else _view(t, _int16)).tobytes()
        return {
            "__tensor__": NAMES[dtype],
            "shape": list(_shape_of(t)),
            "data": _b2a(raw, newline=False).decode("ascii"),
        }
    if isinstance(obj, float) and not _isfinite(obj):
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
    data = obj.get("data", "")
    if type(data) is not str:
        raise WireError("bad tensor data")
    try:
        raw = _a2b(data, strict_mode=True)
    except (binascii.Error, ValueError) as err:
        raise WireError(f"bad tensor data: {err}") from None
    numel = _prod(shape)
    itemsize = _element_size(_empty((), dtype=dtype))
    if len(raw) != numel * itemsize:
        raise WireError("tensor size does not match its shape")
    if numel == 0:
        return _empty(shape, dtype=dtype)
    storage_dtype = _int16 if dtype == _bfloat16 else dtype
    t = _clone(_frombuffer(bytearray(raw), dtype=storage_dtype))
    if dtype == _bfloat16:
        t = _view(t, _bfloat16)
    return _reshape(t, shape)


def dumps(obj) -> bytes:
    """Serialise one message (compact JSON, ASCII, no NaN: the C encoder captured at import)."""
    return "".join(_encode_json(encode(obj), 0)).encode("ascii")


def loads(raw: bytes):
    """Parse one message; raises WireError if it is not a well-formed message."""
    if len(raw) > MAX_MESSAGE_BYTES:
        raise WireError("message too large")
    try:
        text = bytes(raw).decode("utf-8")
        start = len(text) - len(text.lstrip(" \t\n\r"))
        try:
            value, end = _scan_json(text, start)
        except StopIteration as err:
            raise ValueError(f"not JSON (at character {err.value})") from None
        if text[end:].strip(" \t\n\r"):
            raise ValueError(f"extra data after the message (character {end})")
        return decode(value)
    except (ValueError, TypeError, RecursionError) as err:
        raise WireError(str(err)) from err


# -- framing: the grader reads and writes a worker's pipe itself, never blocking -----------------
# A frame is multiprocessing.Connection's: a 4-byte big-endian signed length, then the payload (a
# length of -1 announces an 8-byte one, which is always over MAX_MESSAGE_BYTES here). The worker
# uses Connection.send_bytes / recv_bytes; the grader uses these, on a non-blocking descriptor,
# so that a worker that sends half a frame, or stops reading, costs a deadline, not a hang.

HEADER = struct.Struct("!i")
_pack, _unpack = HEADER.pack, HEADER.unpack


class Channel:
    """The worker's end of its pipe: whole frames, blocking, through the captured functions only.

    Made in the worker before any student code runs; ``conn.send_bytes`` would look up
    ``struct.pack`` and friends at every call, where student code could have replaced them."""

    def __init__(self, fd: int):
        self.fd = fd

    def send(self, obj) -> None:
        """Write `obj` as one message (dumps), whole."""
        self.write(frame(dumps(obj)))

    def write(self, framed: bytes) -> None:
        """Write an already framed message (frame()), whole."""
        view = memoryview(framed)
        while view:
            view = view[_os_write(self.fd, view) :]

    def recv(self):
        """The next message (loads); EOFError when the grader closed the pipe."""
        (size,) = _unpack(self._exactly(HEADER.size))
        if size < 0 or size > MAX_MESSAGE_BYTES:
            raise WireError(f"a frame of {size} bytes announced")
        return loads(self._exactly(size))

    def _exactly(self, n: int) -> bytes:
        """Read exactly `n` bytes."""
        parts, left = [], n
        while left:
            chunk = _os_read(self.fd, min(left, 1 << 20))
            if not chunk:
                raise EOFError("the grader closed the pipe")
            parts.append(chunk)
            left -= len(chunk)
        return b"".join(parts)


def frame(payload: bytes) -> bytes:
    """`payload` as one frame (what Connection.send_bytes writes)."""
    return _pack(len(payload)) + payload


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
            (size,) = _unpack(bytes(self.buf[: HEADER.size]))
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
