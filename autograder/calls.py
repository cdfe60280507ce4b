"""Calling student functions where they live (worker process or notebook kernel), returning plain data.

Nothing here judges a result: it calls, records what happened, and hands back plain tensors
(exactly ``torch.Tensor``, detached, on the CPU) or plain numbers. The judging happens in
``checks.py``, in the grader's process. This module holds no reference implementation.
"""

from __future__ import annotations

import functools
import math
import time

import torch

# Captured before any student code runs, so that later patches of these names change nothing here.
_Tensor = torch.Tensor
_is_tensor = torch.is_tensor
_clone = torch.Tensor.clone
_detach = torch.Tensor.detach
_equal = torch.equal
_autograd_grad = torch.autograd.grad
_no_torch_function = torch._C.DisableTorchFunction

PLAIN_NUMBERS = (int, float, bool)


class ResultError(Exception):
    """A returned value that cannot be graded (wrong type, tensor subclass...)."""


def plain(value, what="the return value"):
    """Return `value` as an exact, detached CPU torch.Tensor or a plain number; else raise ResultError."""
    if type(value) in PLAIN_NUMBERS:
        return value
    if type(value) is _Tensor:
        with _no_torch_function():
            return _clone(_detach(value)).cpu()
    if _is_tensor(value):
        raise ResultError(
            f"{what} is a {type(value).__name__}, a subclass of torch.Tensor; return a plain "
            "torch.Tensor (subclasses can change how comparisons behave, so they are not graded)"
        )
    kind = type(value).__module__ + "." + type(value).__qualname__
    if kind.startswith("numpy.") and getattr(value, "shape", None) == ():
        return float(value.item())
    raise ResultError(f"{what} has type {kind}; expected a torch.Tensor")


def _snapshot(args):
    """Plain copies of the tensor arguments, to detect in-place modification afterwards."""
    with _no_torch_function():
        return [_clone(_detach(a)) if type(a) is _Tensor else None for a in args]


COMPOSITES = {
    # d2l's model and loss assembled from the student's functions (public formulas, no answers).
    "@softmax_ce": lambda ns, O, y: ns["cross_entropy"](ns["softmax"](O), y),
    "@model_loss": lambda ns, X, W, b, y: ns["cross_entropy"](ns["softmax"](X @ W + b), y).mean(),
}


def execute_call(namespace, fn_name, args, grad_wrt=(), cotangent=None, tracer=None, device=None):
    """Call namespace[fn_name](*args); return a dict of plain results (never raises for student errors).

    args: tensors/numbers (already copies owned by this call), moved to `device` if given.
    grad_wrt: indices of arguments to differentiate with respect to, using `cotangent` (same shape
    as the output) as the upstream gradient. fn_name may name a composite (see COMPOSITES).
    Returns {"ok", "value", "inputs_changed", "grads", "error", "seconds", "builtins", "device"}.
    """
    if fn_name in COMPOSITES:
        fn = functools.partial(COMPOSITES[fn_name], namespace)
        missing = [n for n in ("softmax", "cross_entropy") if not callable(namespace.get(n))]
        if missing:
            return {
                "ok": False,
                "status": "missing",
                "error": f"no function named {missing[0]} was defined",
            }
    else:
        fn = namespace.get(fn_name)
    if fn is None or not callable(fn):
        return {
            "ok": False,
            "status": "missing",
            "error": f"no function named {fn_name} was defined",
        }
    args = list(args)
    if device is not None:
        args = [a.to(device) if type(a) is _Tensor else a for a in args]
        if cotangent is not None:
            cotangent = cotangent.to(device)
    for i in grad_wrt:
        args[i] = _detach(args[i]).requires_grad_(True)
    before = _snapshot(args)
    if tracer is not None:
        tracer.reset()
    start = time.perf_counter()
    try:
        out = fn(*args)
    except MemoryError:
        return {"ok": False, "status": "memory", "error": "ran out of memory (MemoryError)"}
    except BaseException as err:  # noqa: BLE001 - SystemExit, KeyboardInterrupt too: all cost this call
        return {"ok": False, "status": _status_of(err), "error": _describe(err)}
    seconds = time.perf_counter() - start
    reply = {"ok": True, "seconds": seconds, "builtins": tracer.calls() if tracer else []}
    reply["input_device"] = str(args[0].device) if args and type(args[0]) is _Tensor else "cpu"
    reply["device"] = str(out.device) if type(out) is _Tensor else reply["input_device"]
    changed = []
    with _no_torch_function():
        for i, (a, b) in enumerate(zip(args, before)):
            if b is not None and (a.shape != b.shape or not _equal(_detach(a), b)):
                changed.append(i)
    reply["inputs_changed"] = changed
    try:
        reply["value"] = plain(out)
        if grad_wrt:
            reply["grads"] = _grads(out, [args[i] for i in grad_wrt], cotangent)
    except ResultError as err:
        return {"ok": False, "status": "failed", "error": str(err)}
    except BaseException as err:  # noqa: BLE001
        return {
            "ok": False,
            "status": _status_of(err),
            "error": "computing the gradient: " + _describe(err),
        }
    return reply


def _grads(out, inputs, cotangent):
    """Gradients of <out, cotangent> with respect to `inputs` (None where no gradient flows)."""
    if type(out) is not _Tensor or not out.requires_grad:
        return [None for _ in inputs]
    got = _autograd_grad(out, inputs, grad_outputs=cotangent.to(out.dtype), allow_unused=True)
    return [None if g is None else plain(g, "the gradient") for g in got]


def _status_of(err):
    """Status for an exception raised by student code."""
    if isinstance(err, MemoryError) or "can't allocate memory" in str(err):
        return "memory"
    if isinstance(err, PermissionError) and "grading sandbox" in str(err):
        return "forbidden"
    return "error"


def _describe(err):
    """One line naming the exception, e.g. 'RuntimeError: shape mismatch'."""
    text = str(err).strip().splitlines()
    first = text[0] if text else ""
    name = type(err).__name__
    if isinstance(err, SystemExit):
        return f"SystemExit({err.code!r}): graded functions must return, not call sys.exit()"
    if isinstance(err, KeyboardInterrupt):
        return "KeyboardInterrupt raised inside the function"
    return f"{name}: {first[:500]}" if first else name


class Accounted:
    """Iterable wrapper that counts full and partial passes over the grader's batches."""

    def __init__(self, batches):
        self.batches = batches
        self.passes = 0
        self.batches_seen = 0

    def __len__(self):
        return len(self.batches)

    def __iter__(self):
        self.passes += 1
        for batch in self.batches:
            self.batches_seen += 1
            yield batch


class CountingUpdater:
    """d2l's from-scratch minibatch SGD on [W, b] (zeroes the gradients), counting its calls."""

    def __init__(self, params, lr):
        self.params, self.lr, self.calls = params, lr, 0

    def __call__(self, batch_size):
        self.calls += 1
        with torch.no_grad():
            for param in self.params:
                if param.grad is not None:
                    param -= self.lr * param.grad / batch_size
                    param.grad.zero_()


class CountingSGD(torch.optim.SGD):
    """torch.optim.SGD counting step() and zero_grad() calls."""

    def __init__(self, params, lr):
        super().__init__(params, lr=lr)
        self.steps = 0
        self.zero_grads = 0

    def step(self, closure=None):
        self.steps += 1
        return super().step(closure)

    def zero_grad(self, set_to_none=True):
        self.zero_grads += 1
        return super().zero_grad(set_to_none)


class RecordingAnimator:
    """Stand-in for d2l's Animator while grading: records the points instead of drawing them."""

    records: list = []

    def __init__(self, *args, legend=None, **kwargs):
        self.legend = list(legend or [])
        RecordingAnimator.records = self.points = []

    def add(self, x, y):
        if not hasattr(y, "__len__"):
            y = [y]
        row = [float(x)] + [float(v) if v is not None else math.nan for v in y]
        self.points.append(row)


def execute_training(namespace, *, net, loss, W, b, data, epochs, lr, use_optimizer):
    """Run namespace['train_ch3'] with the given model; return the trained parameters and counters.

    data: (train_batches, test_batches) of (X, y). With use_optimizer the updater is a
    torch.optim.SGD (d2l's concise path), else d2l's from-scratch sgd function.
    """
    train_ch3 = namespace.get("train_ch3")
    if train_ch3 is None or not callable(train_ch3):
        return {
            "ok": False,
            "status": "missing",
            "error": "no function named train_ch3 was defined",
        }
    train_iter, test_iter = Accounted(data[0]), Accounted(data[1])
    updater = CountingSGD([W, b], lr) if use_optimizer else CountingUpdater([W, b], lr)
    saved_animator = namespace.get("Animator")
    namespace["Animator"] = RecordingAnimator
    RecordingAnimator.records = []
    start = time.perf_counter()
    try:
        train_ch3(net, train_iter, test_iter, loss, epochs, updater)
    except AssertionError as err:
        # d2l's train_ch3 ends with sanity asserts on its own metrics; the grader measures itself.
        note = "train_ch3's own assertion failed: " + _describe(err)
    except MemoryError:
        return {"ok": False, "status": "memory", "error": "ran out of memory (MemoryError)"}
    except BaseException as err:  # noqa: BLE001
        return {"ok": False, "status": _status_of(err), "error": _describe(err)}
    else:
        note = ""
    finally:
        namespace["Animator"] = saved_animator
    steps = updater.steps if use_optimizer else updater.calls
    return {
        "ok": True,
        "seconds": time.perf_counter() - start,
        "W": plain(W),
        "b": plain(b),
        "steps": steps,
        "zero_grads": getattr(updater, "zero_grads", None),
        "train_passes": train_iter.passes,
        "test_passes": test_iter.passes,
        "train_batches": train_iter.batches_seen,
        "test_batches": test_iter.batches_seen,
        "curve": [list(map(float, p)) for p in RecordingAnimator.records],
        "note": note,
    }


TRACED = {
    "torch": ("softmax", "log_softmax", "_softmax", "_log_softmax"),
    "torch.special": ("softmax", "log_softmax"),
    "torch.nn.functional": ("softmax", "log_softmax", "softmin", "cross_entropy", "nll_loss"),
    "torch.Tensor": ("softmax", "log_softmax"),
    "torch.nn.CrossEntropyLoss": ("forward",),
    "torch.nn.NLLLoss": ("forward",),
    "torch.nn.Softmax": ("forward",),
    "torch.nn.LogSoftmax": ("forward",),
}
"""Built-ins a from-scratch softmax or cross_entropy must not call (recorded while grading)."""


class BuiltinTracer:
    """Records calls of the TRACED built-ins made during one graded call (worker only)."""

    def __init__(self):
        self._seen = []
        self.active = False

    def install(self):
        """Wrap every traced built-in with a recorder (before any student code is defined)."""
        import torch.nn.functional  # noqa: F401 - make the traced owners importable attributes
        import torch.special  # noqa: F401

        for owner_name, attrs in TRACED.items():
            owner = functools.reduce(getattr, owner_name.split(".")[1:], torch)
            for attr in attrs:
                original = getattr(owner, attr, None)
                if original is not None:
                    setattr(owner, attr, self._wrap(original, f"{owner_name}.{attr}"))

    def _wrap(self, original, name):
        tracer = self

        @functools.wraps(original)
        def traced(*args, **kwargs):
            if tracer.active:
                tracer._seen.append(name)
            return original(*args, **kwargs)

        return traced

    def reset(self):
        self._seen = []
        self.active = True

    def calls(self):
        self.active = False
        return sorted(set(self._seen))


def build_model(softmax_fn, device, seed):
    """d2l's model: W ~ N(0, 0.01) (784, 10), b = 0, net(X) = softmax(X.reshape(-1, 784) W + b)."""
    from . import config

    gen = torch.Generator().manual_seed(seed)
    W = (torch.randn(config.NUM_INPUTS, config.NUM_OUTPUTS, generator=gen) * config.INIT_STD).to(
        device
    )
    W.requires_grad_(True)
    b = torch.zeros(config.NUM_OUTPUTS, device=device, requires_grad=True)

    def net(X):
        return softmax_fn(torch.matmul(X.reshape((-1, W.shape[0])), W) + b)

    return net, W, b


def run_training(namespace, mode, data, device, reference=None):
    """Train as the grader does. mode "grader_model": the grader's softmax/loss (reference) and a
    torch.optim.SGD updater, judging train_ch3 alone; "end_to_end": the student's functions."""
    from . import config

    if mode == "grader_model":
        softmax_fn, loss, use_optimizer = reference["softmax"], reference["cross_entropy"], True
    else:
        softmax_fn, loss, use_optimizer = (
            namespace.get("softmax"),
            namespace.get("cross_entropy"),
            False,
        )
        for name, fn in (("softmax", softmax_fn), ("cross_entropy", loss)):
            if not callable(fn):
                return {
                    "ok": False,
                    "status": "missing",
                    "error": f"no function named {name} was defined",
                }
    net, W, b = build_model(softmax_fn, device, config.SEED)
    reply = execute_training(
        namespace,
        net=net,
        loss=loss,
        W=W,
        b=b,
        data=data,
        epochs=config.NUM_EPOCHS,
        lr=config.LR,
        use_optimizer=use_optimizer,
    )
    reply["batches_per_epoch"] = len(data[0])
    return reply
