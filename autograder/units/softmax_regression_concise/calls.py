"""Calling this unit's student code where it lives (worker process or notebook kernel), returning plain data.

As in the first unit (``autograder.units.softmax_regression.calls``, whose recorder, accounting
and error wording this module reuses), nothing here judges: it calls, records what happened and
hands back plain tensors, numbers and lists or dicts of them. The checks judge, in the grader's
process. What is new here: graded objects that are not functions (``net``, ``loss``, ``trainer``,
reached through composites such as ``@net_summary``), functions that return pairs
(``softmax_ce_grad`` returns (dW, db)), a recorder that also notes autograd's engine, and three
training runs (``run_training``'s modes).
"""

from __future__ import annotations

import functools
import time

import torch

from autograder import config
from autograder.units.softmax_regression import calls as base
from autograder.units.softmax_regression.calls import (  # noqa: F401 - re-exported
    STUDENT_TEXT_CHARS,
    Accounted,
    OperatorRecorder,
    ResultError,
    bounded,
    plain,
)
from autograder.units.softmax_regression_concise import unit

# Captured before any student code runs, so that later patches of these names change nothing here.
_Tensor = torch.Tensor
_Module = torch.nn.Module
_detach = torch.Tensor.detach
_clone = torch.Tensor.clone
_no_grad = torch.no_grad
_enable_grad = torch.enable_grad
_graph_task_id = torch._C._current_graph_task_id
_forward_ad = torch.autograd.forward_ad
_dispatch_depth = torch._C._len_torch_dispatch_stack
_current_mode = base._current_mode
_perf_counter = time.perf_counter
_Generator = torch.Generator
_randn, _rand, _eye, _zeros = torch.randn, torch.rand, torch.eye, torch.zeros

BACKWARD, FORWARD_AD = unit.AUTOGRAD_MARKS


class AutogradRecorder(OperatorRecorder):
    """The first unit's operator recorder, also noting autograd at work.

    An operator that runs inside autograd's backward engine (``loss.backward()``,
    ``torch.autograd.grad``, ``torch.func.grad``/``vjp``/``jacrev``, ``autograd.functional``)
    is recorded with ``autograd::backward`` beside its own name, however autograd was reached;
    one run under forward-mode AD (``torch.func.jacfwd``, ``forward_ad.dual_level``) with
    ``autograd::forward_ad``. The grader judges them as forbidden operators.
    """

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if not base._paused[0]:
            if _graph_task_id() != -1:
                self.seen.add(BACKWARD)
            if _forward_ad._current_level >= 0:
                self.seen.add(FORWARD_AD)
        return super().__torch_dispatch__(func, types, args, kwargs)


def plain_value(value, what="the return value"):
    """`value` as plain data: a plain tensor or number (base.plain), or a list of them when the
    function returned a tuple or list (``return dW, db``). Raises ResultError otherwise."""
    if type(value) in (tuple, list):
        if len(value) > 16:
            raise ResultError(f"{what} is a sequence of {len(value)} items; expected a pair")
        return [plain(v, f"{what} (item {i + 1})") for i, v in enumerate(value)]
    return plain(value, what)


def _params_of(net, what="net"):
    """net's parameters, refusing what is not a torch.nn.Module."""
    if not isinstance(net, _Module):
        raise TypeError(
            f"{what} is a {bounded(type(net).__name__, 80)}, not a torch.nn.Module "
            "(build it from nn.Sequential or an nn.Module class)"
        )
    return list(net.parameters())


def _device_of(net):
    params = list(net.parameters())
    return params[0].device if params else torch.device("cpu")


def _net_summary(ns, X):
    """What the net checks judge: its type, its output on the grader's images X (or the error the
    forward pass raised) and its parameters (name, shape, and the values when not huge)."""
    net = ns["net"]
    if not isinstance(net, _Module):
        return {"module": False, "type": bounded(type(net).__name__, 80)}
    summary = {"module": True, "type": bounded(type(net).__name__, 80)}
    try:  # the forward pass first: a lazy layer takes its shape from it
        with _no_grad():
            out = net(X.to(_device_of(net)))
        summary["output"] = plain(out, "net(X)")
    except ResultError as err:
        summary["forward_error"] = str(err)
    except Exception as err:  # noqa: BLE001 - the forward pass is the student's
        summary["forward_error"] = base._describe(err)
    params = []
    for name, p in list(net.named_parameters())[:64]:
        entry = {"name": bounded(name, 80), "shape": [int(s) for s in p.shape]}
        if p.numel() <= MAX_SENT_PARAMETER:
            entry["value"] = plain(_detach(p))
        params.append(entry)
    summary["parameters"] = params
    return summary


MAX_SENT_PARAMETER = 200_000
"""Largest parameter (elements) whose values @net_summary sends back (d2l's weight has 7840)."""


def _saved(net, trainer):
    """Copies of the net's parameters and of the optimizer's state, to put back afterwards (the
    grader's steps and training runs leave the student's objects as they found them)."""
    params = [(p, _clone(_detach(p))) for p in net.parameters()]
    state = getattr(trainer, "state", None)
    kept = None
    if isinstance(state, dict):
        kept = {k: {n: _clone(_detach(v)) if type(v) is _Tensor else v for n, v in s.items()}
                for k, s in state.items() if isinstance(s, dict)}  # fmt: skip
    return params, kept


def _restore(trainer, saved):
    params, kept = saved
    with _no_grad():
        for p, value in params:
            p.copy_(value)
            p.grad = None
    if kept is not None:
        trainer.state.clear()
        trainer.state.update(kept)


def _optimizer_steps(ns, seed):
    """unit.OPTIMIZER_STEPS steps of the student's trainer with the grader's gradients (normal,
    from `seed`) set on every parameter of the student's net: each parameter before, the gradients
    and each parameter after every step. The net and the optimizer's state are put back after."""
    net, trainer = ns["net"], ns["trainer"]
    params = _params_of(net)
    if not callable(getattr(trainer, "step", None)):
        raise TypeError(
            f"trainer is a {bounded(type(trainer).__name__, 80)} without a step() method; "
            "expected a torch.optim optimizer"
        )
    names = [bounded(n, 80) for n, _ in net.named_parameters()]
    saved = _saved(net, trainer)
    gen = _Generator().manual_seed(int(seed))
    record = [{"name": n, "before": plain(_detach(p)), "grads": [], "after": []}
              for n, p in zip(names, params)]  # fmt: skip
    try:
        for _ in range(unit.OPTIMIZER_STEPS):
            for p, r in zip(params, record):
                g = _randn(tuple(p.shape), generator=gen, dtype=torch.float64).to(p.dtype)
                p.grad = g.to(p.device)
                r["grads"].append(g)
            trainer.step()
            for p, r in zip(params, record):
                r["after"].append(plain(_detach(p)))
    finally:
        _restore(trainer, saved)
    return {"parameters": record, "type": bounded(type(trainer).__name__, 80)}


def _under_no_grad(ns, *args):
    """softmax_ce_grad called under torch.no_grad(), as a training loop's update would call it."""
    with _no_grad():
        return ns["softmax_ce_grad"](*args)


def _with_parameters(ns, X, y, W, b):
    """softmax_ce_grad called with W and b requiring gradients, as a model's parameters do."""
    with _enable_grad():
        W, b = _detach(W).requires_grad_(True), _detach(b).requires_grad_(True)
        return ns["softmax_ce_grad"](X, y, W, b)


COMPOSITES = {
    "@net_summary": _net_summary,
    "@optimizer_steps": _optimizer_steps,
    "@softmax_ce_grad_no_grad": _under_no_grad,
    "@softmax_ce_grad_params": _with_parameters,
}
"""Grader-written calls of the student's objects (each takes the namespace first)."""

COMPOSITE_NEEDS = {
    "@net_summary": ("net",),
    "@optimizer_steps": ("net", "trainer"),
    "@softmax_ce_grad_no_grad": ("softmax_ce_grad",),
    "@softmax_ce_grad_params": ("softmax_ce_grad",),
}
"""composite -> the student's names it uses (the first is the graded function it judges)."""

REPORTS = frozenset({"@net_summary", "@optimizer_steps"})
"""Composites that return the grader's own report (plain data already), not a student's value."""


def execute_call(namespace, fn_name, args, grad_wrt=(), cotangent=None, device=None):
    """Call namespace[fn_name](*args), or a composite; return a dict of plain results (never
    raises for student errors). The contract of the first unit's execute_call: args are copies
    owned by this call, moved to `device` if given; grad_wrt/cotangent ask for the gradient of
    <output, cotangent> (a tensor output only). Returns {"ok", "value", "args_after", "grads",
    "error", "status", "seconds", "ops", "device", "input_device"}; "ops" includes the
    AutogradRecorder's marks. A returned tuple or list comes back as a list.
    """
    if fn_name in COMPOSITES:
        missing = [n for n in COMPOSITE_NEEDS[fn_name] if namespace.get(n) is None]
        if missing:
            return _missing(missing[0])
        fn = functools.partial(COMPOSITES[fn_name], namespace)
    else:
        fn = namespace.get(fn_name)
        if fn is None or not callable(fn):
            return _missing(fn_name)
    args = list(args)
    if device is not None:
        args = [a.to(device) if type(a) is _Tensor else a for a in args]
        if cotangent is not None:
            cotangent = cotangent.to(device)
    for i in grad_wrt:
        args[i] = _detach(args[i]).requires_grad_(True)
    recorder = AutogradRecorder()
    start = _perf_counter()
    out, failure = _recorded(recorder, fn, args)
    if failure is not None:
        return failure
    reply = {"ok": True, "seconds": _perf_counter() - start, "ops": recorder.names()}
    reply["input_device"] = str(args[0].device) if args and type(args[0]) is _Tensor else "cpu"
    reply["device"] = str(out.device) if type(out) is _Tensor else reply["input_device"]
    try:
        reply["args_after"] = [plain(a, f"argument {i + 1}") if type(a) is _Tensor else None
                               for i, a in enumerate(args)]  # fmt: skip
        reply["value"] = out if fn_name in REPORTS else plain_value(out)
        if grad_wrt:
            if type(out) is not _Tensor:
                raise ResultError("the return value is not a tensor, so it has no gradient")
            reply["grads"] = base._grads(out, [args[i] for i in grad_wrt], cotangent)
    except ResultError as err:
        return {"ok": False, "status": "failed", "error": str(err)}
    except BaseException as err:  # noqa: BLE001
        return {"ok": False, "status": base._status_of(err),
                "error": "computing the gradient: " + base._describe(err)}  # fmt: skip
    return reply


def _missing(name):
    return {"ok": False, "status": "missing", "error": f"no function named {name} was defined"}


def _recorded(recorder, fn, args):
    """(fn(*args), None) run under `recorder`, or (None, the failed reply) when it raised or
    removed the recorder from torch's dispatch-mode stack."""
    tampered = [False]
    try:
        with recorder:
            depth = _dispatch_depth()
            try:
                out = fn(*args)
            finally:  # the recorder must still be the innermost mode, as it was entered
                tampered[0] = _dispatch_depth() != depth or _current_mode() is not recorder
    except MemoryError:
        return None, {"ok": False, "status": "memory", "error": "ran out of memory (MemoryError)"}
    except BaseException as err:  # noqa: BLE001 - SystemExit, KeyboardInterrupt too
        if tampered[0]:
            return None, base._tampered()
        return None, {"ok": False, "status": base._status_of(err), "error": base._describe(err),
                      "ops": recorder.names()}  # fmt: skip
    if tampered[0]:
        return None, base._tampered()
    return out, None


# -- training runs ---------------------------------------------------------------------------
def initial_parameters(device, seed):
    """d2l's initialisation, for training by hand: W ~ N(0, 0.01) (784, 10), b = 0, neither
    requiring gradients (the same values as the first unit's run)."""
    W, b = base.initial_parameters(device, seed)
    return _detach(W), _detach(b)


def run_manual(namespace, data, device, epochs):
    """train_manual(W, b, train_iter, epochs, lr) from d2l's initialisation, under the recorder
    (no autograd may run): the returned (W, b), the passes over train_iter, the operators. Once
    autograd is seen, train_iter hands out no further batch: the run is judged forbidden whatever
    it does next, so the rest of its epochs are not trained."""
    fn = namespace.get("train_manual")
    if fn is None or not callable(fn):
        return _missing("train_manual")
    W, b = initial_parameters(device, config.SEED)
    recorder = AutogradRecorder()
    forbidden = unit.FORBIDDEN_OPS["train_manual"]
    # no fixed order: a loop under torch.no_grad() is training
    train_iter = Accounted(data[0], stop=lambda: not recorder.seen.isdisjoint(forbidden))
    start = _perf_counter()
    out, failure = _recorded(recorder, fn, [W, b, train_iter, epochs, config.LR])
    if failure is not None:
        return failure
    reply = {
        "ok": True,
        "seconds": _perf_counter() - start,
        "ops": recorder.names(),
        "train_passes": train_iter.passes,
        "train_batches": train_iter.batches_seen,
    }
    if type(out) not in (tuple, list) or len(out) != 2:
        kind = bounded(type(out).__name__, 80)
        return {**reply, "ok": False, "status": "failed",
                "error": f"train_manual returned a {kind}; expected the pair (W, b)"}  # fmt: skip
    try:
        reply["W"], reply["b"] = plain(out[0], "the returned W"), plain(out[1], "the returned b")
    except ResultError as err:
        return {**reply, "ok": False, "status": "failed", "error": str(err)}
    return reply


PROBE_IMAGES, PROBE_SEED = 8, 1234
"""Random images on which the trained net is compared with the affine map measured from it."""


def affine_map(net, device):
    """(W, b, probe images, net's outputs on them): the net's map x -> x.reshape(784) @ W + b read
    from its outputs on 0 and on the 784 one-pixel images (exact for an affine net, whatever its
    layers and layout), and random probes on which the grader tests that the net is that map."""
    n = unit.NUM_INPUTS
    with _no_grad():
        c = net(_zeros(1, 1, 28, 28, device=device))
        A = net(_eye(n, device=device).reshape(n, 1, 28, 28))
        probes = _rand(PROBE_IMAGES, 1, 28, 28, generator=_Generator().manual_seed(PROBE_SEED))
        out = net(probes.to(device))
    if type(c) is not _Tensor or tuple(c.shape) != (1, unit.NUM_OUTPUTS) or type(A) is not _Tensor:
        shape = tuple(c.shape) if isinstance(c, _Tensor) else type(c).__name__
        raise ResultError(f"net maps a (1, 1, 28, 28) batch to {bounded(shape, 80)}, not (1, 10)")
    return plain(A - c), plain(c.reshape(-1)), probes, plain(out, "net(X)")


def run_concise(namespace, data, device, epochs):
    """d2l's train_ch3 with a torch.optim updater, written by the grader (the student's train_ch3,
    if any, plays no part): the student's net, loss and trainer for `epochs` epochs; the net's
    affine map after training (W, b), the curve d2l's Animator would draw, and the counts. The
    net and the optimizer's state are put back afterwards."""
    net, loss, trainer = (namespace.get(n) for n in ("net", "loss", "trainer"))
    for name, obj in (("net", net), ("loss", loss), ("trainer", trainer)):
        if obj is None:
            return _missing(name)
    try:
        _params_of(net)
        if str(device) != "cpu":
            net.to(device)
        saved = _saved(net, trainer)
    except Exception as err:  # noqa: BLE001
        return {"ok": False, "status": base._status_of(err), "error": base._describe(err)}
    start, steps, curve = _perf_counter(), 0, []
    try:
        for epoch in range(epochs):
            net.train()
            total_loss, correct, seen = 0.0, 0.0, 0
            for X, y in data[0]:
                y_hat = net(X)
                l = loss(y_hat, y)
                trainer.zero_grad()
                l.mean().backward()
                trainer.step()
                steps += 1
                with _no_grad():
                    total_loss += float(l.sum())
                    correct += float((y_hat.argmax(dim=1) == y).sum())
                    seen += int(y.numel())
            curve.append([float(epoch + 1), total_loss / seen, correct / seen,
                          _visible_accuracy(net, data[1])])  # fmt: skip
        W, b, probes, probe_out = affine_map(net, device)
    except MemoryError:
        return {"ok": False, "status": "memory", "error": "ran out of memory (MemoryError)"}
    except ResultError as err:
        return {"ok": False, "status": "failed", "error": str(err)}
    except BaseException as err:  # noqa: BLE001
        return {"ok": False, "status": base._status_of(err), "error": base._describe(err)}
    finally:
        try:
            _restore(trainer, saved)
        except Exception:  # noqa: BLE001 - the run's own reply matters more
            pass
    return {"ok": True, "seconds": _perf_counter() - start, "W": W, "b": b, "steps": steps,
            "probe_in": probes, "probe_out": probe_out, "curve": curve}  # fmt: skip


def _visible_accuracy(net, test_iter):
    """Share of the visible test images net classifies right (the curve's test accuracy; the
    accuracy that earns points is the grader's, on the hidden ones)."""
    if isinstance(net, _Module):
        net.eval()
    correct, seen = 0.0, 0
    with _no_grad():
        for X, y in test_iter:
            correct += float((net(X).argmax(dim=1) == y).sum())
            seen += int(y.numel())
    return correct / max(seen, 1)


def run_training(namespace, mode, data, device):
    """Train as the grader does; `data` is (train_batches, test_batches) of the visible data.

    "manual_epoch": train_manual for unit.MANUAL_TRAJECTORY_EPOCHS epoch(s), compared with the
    grader's own closed-form run; "manual": train_manual for config.NUM_EPOCHS, its accuracy
    measured; "concise": the student's net, loss and trainer in d2l's loop for NUM_EPOCHS.
    """
    if mode == "manual_epoch":
        epochs = unit.MANUAL_TRAJECTORY_EPOCHS
        reply = run_manual(namespace, data, device, epochs)
    elif mode == "manual":
        epochs = config.NUM_EPOCHS
        reply = run_manual(namespace, data, device, epochs)
    elif mode == "concise":
        epochs = config.NUM_EPOCHS
        reply = run_concise(namespace, data, device, epochs)
    else:
        return {"ok": False, "status": "error", "error": f"unknown training mode {mode!r}"}
    reply["mode"], reply["epochs"] = mode, epochs
    reply["batches_per_epoch"] = len(data[0])
    reply["test_batches_per_epoch"] = len(data[1])
    return reply
