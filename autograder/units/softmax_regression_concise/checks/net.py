"""The checks of net, the concise model: an affine map of (n, 1, 28, 28) images to (n, 10) logits,
one weight and one bias of d2l's shapes, initialised as d2l does.

Judged from plain data (calls.py's @net_summary: the net's outputs on the grader's images and its
parameters), so any spelling passes: nn.Sequential(nn.Flatten(), nn.Linear(784, 10)), an
nn.Module class with a view in forward, an OrderedDict Sequential.
"""

from __future__ import annotations

import math

import torch

from autograder.checks.registry import Check
from autograder.i18n import N_, _
from autograder.units.softmax_regression.calls import bounded
from autograder.units.softmax_regression_concise import unit
from autograder.units.softmax_regression_concise.checks.common import (
    _call,
    _gen,
    fmt,
    report,
    result,
    shape_text,
    worker_error,
)

D2L_NET = "nn.Sequential(nn.Flatten(), nn.Linear(784, 10))"
WEIGHT_SHAPES = ((unit.NUM_OUTPUTS, unit.NUM_INPUTS), (unit.NUM_INPUTS, unit.NUM_OUTPUTS))
BIAS_SHAPE = (unit.NUM_OUTPUTS,)


def _images(n, seed, scale=1.0):
    """n random inputs of an image's shape (n, 1, 28, 28), in [0, 1] times `scale`."""
    return torch.rand(n, 1, 28, 28, generator=_gen(seed)) * scale


AFFINE_SCALE = 20.0
"""The affinity test's inputs are images times this (pixels up to 20): wide enough for a
nonlinearity after the linear layer (a softmax, a ReLU) to show, while affine maps stay exact."""


def affine_batch(seed=0):
    """Six inputs: three random ones and three affine combinations of them (weights summing to 1),
    on which an affine net's outputs combine the same way."""
    B = _images(3, seed, AFFINE_SCALE)
    combos = [0.25 * B[0] + 0.75 * B[1], 2 * B[2] - B[0], (B[0] + B[1] + B[2]) / 3]
    return torch.cat([B, torch.stack(combos)])


AFFINE_RULES = (
    (3, ((0, 0.25), (1, 0.75))),
    (4, ((2, 2.0), (0, -1.0))),
    (5, ((0, 1 / 3), (1, 1 / 3), (2, 1 / 3))),
)
"""(row of affine_batch, its combination of the first three rows)."""


def _summary(caller, cid, X):
    """(@net_summary's report on images X, None) or (None, the failed result)."""
    reply, fail = _call(caller, cid, "@net_summary", [X])
    if fail:
        return None, fail
    summary = reply["value"]
    if not summary.get("module"):
        return None, report(
            cid,
            "net",
            _("a torch.nn.Module such as {net}").format(net=D2L_NET),
            _("a {kind}").format(kind=bounded(summary.get("type"), 80)),
            _("define net as a module: {net}, or an nn.Module class whose forward flattens each "
              "image and applies one nn.Linear(784, 10)").format(net=D2L_NET),
        )  # fmt: skip
    return summary, None


def _forward_hint(error):
    """What a failed forward pass on (n, 1, 28, 28) images most likely means."""
    if "mat1 and mat2 shapes cannot be multiplied" in error and "x28 " in error:
        return _(
            "the linear layer received the images unflattened: put nn.Flatten() before "
            "nn.Linear(784, 10) (PyTorch does not reshape the input), or x.reshape(x.shape[0], -1) "
            "in forward"
        )
    return _("net must accept a batch of images of shape (n, 1, 28, 28), as train_iter yields them")


def net_structure(caller):
    """net maps (n, 1, 28, 28) images to (n, 10) logits and is affine in the image (no softmax,
    no nonlinearity, the batch dimension kept, also for a batch of one)."""
    cid = "net.structure"
    X = affine_batch()
    inp = _(
        "net(X), X = {images} random inputs of shape (1, 28, 28), values from 0 to {scale}"
    ).format(images=len(X), scale=int(AFFINE_SCALE))
    summary, fail = _summary(caller, cid, X)
    if fail:
        return fail
    if "forward_error" in summary:
        error = worker_error(summary["forward_error"])
        return report(cid, inp, _("logits of shape {shape}").format(shape=(len(X), 10)), error,
                      _forward_hint(summary["forward_error"]))  # fmt: skip
    out = summary.get("output")
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != (len(X), unit.NUM_OUTPUTS):
        got = shape_text(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        return report(cid, inp, shape_text((len(X), unit.NUM_OUTPUTS)), got,
                      _("one row of 10 logits per image: flatten each image to 784 values and "
                        "apply nn.Linear(784, 10)"))  # fmt: skip
    O = out.to(torch.float64)
    if not torch.isfinite(O).all():
        return report(cid, inp, _("finite logits"), fmt(out), _("see net.init"))
    tol = unit.AFFINE_RTOL * float(O.abs().max()) + 1e-5
    for row, combo in AFFINE_RULES:
        want = sum(w * O[i] for i, w in combo)
        if float((O[row] - want).abs().max()) > tol:
            return report(
                cid,
                _("net on images x1, x2, x3 and their combinations (weights summing to 1)"),
                _("net(0.25 x1 + 0.75 x2) = 0.25 net(x1) + 0.75 net(x2), ... (an affine map)"),
                _("differences up to {gap}").format(gap=f"{float((O[row] - want).abs().max()):.3g}"),
                _("softmax regression's net is one linear layer, o = W x + b, nothing after it: "
                  "no nn.Softmax (nn.CrossEntropyLoss takes the logits) and no activation"),
            )  # fmt: skip
    one, fail = _summary(caller, cid, X[:1])
    if fail:
        return fail
    single = one.get("output")
    if (
        "forward_error" in one
        or not isinstance(single, torch.Tensor)
        or tuple(single.shape) != (1, 10)
    ):
        got = (
            worker_error(one.get("forward_error"))
            if "forward_error" in one
            else (
                shape_text(single.shape)
                if isinstance(single, torch.Tensor)
                else type(single).__name__
            )
        )
        return report(cid, _("net(X), X of shape (1, 1, 28, 28)"), shape_text((1, 10)), got,
                      _("keep the batch dimension for a batch of one image: nn.Flatten() or "
                        "x.reshape(x.shape[0], -1), not x.reshape(-1) or squeeze()"))  # fmt: skip
    return result(cid, True)


def _params(summary):
    return [(p.get("name"), tuple(p.get("shape") or ()), p.get("value"))
            for p in summary.get("parameters") or []]  # fmt: skip


def _listing(params):
    return ", ".join(f"{bounded(name, 40)} {shape}" for name, shape, _v in params) or _("none")


def net_shapes(caller):
    """net has exactly one weight, (10, 784) as nn.Linear keeps it or (784, 10), and one bias (10,)."""
    cid = "net.shapes"
    summary, fail = _summary(caller, cid, _images(2, 1))
    if fail:
        return fail
    params = _params(summary)
    weights = [p for p in params if p[1] in WEIGHT_SHAPES]
    biases = [p for p in params if p[1] == BIAS_SHAPE]
    if len(params) == 2 and len(weights) == 1 and len(biases) == 1:
        return result(cid, True)
    if not params:
        hint = _("net has no parameters: it needs one nn.Linear(784, 10) layer")
    elif len(params) > 2:
        hint = _("softmax regression is a single linear layer (one weight, one bias); this net "
                 "has {count} parameter tensors: more than one layer").format(count=len(params))  # fmt: skip
    elif weights and not biases:
        hint = _("the linear layer needs its bias: nn.Linear(784, 10) (bias=True by default)")
    else:
        hint = _("nn.Linear(784, 10): 784 inputs (28 x 28 pixels, flattened) and 10 outputs (one per class)")  # fmt: skip
    return report(
        cid,
        _("the parameters of net"),
        _("one weight of shape (10, 784) (or (784, 10)) and one bias of shape (10,)"),
        _listing(params),
        hint,
    )


def _stats(W):
    """(mean, standard deviation, share within one standard deviation of 0) of the weights."""
    w = W.to(torch.float64).reshape(-1)
    std = float(w.std())
    within = float((w.abs() <= std).to(torch.float64).mean()) if std > 0 else 1.0
    return float(w.mean()), std, within


def net_init(caller):
    """Weights drawn from a normal distribution with mean 0 and standard deviation 0.01 (d2l's
    init_weights); the bias 0, or nn.Linear's own small initial values (d2l leaves them)."""
    cid = "net.init"
    summary, fail = _summary(caller, cid, _images(2, 2))
    if fail:
        return fail
    params = _params(summary)
    weights = [p for p in params if p[1] in WEIGHT_SHAPES and isinstance(p[2], torch.Tensor)]
    biases = [p for p in params if p[1] == BIAS_SHAPE and isinstance(p[2], torch.Tensor)]
    if len(weights) != 1:
        return report(cid, _("the parameters of net"), _("one weight of shape (10, 784)"),
                      _listing(params), _("see net.shapes"))  # fmt: skip
    W = weights[0][2]
    mean, std, within = _stats(W)
    inp = _("the weight of net as your notebook initialises it ({count} values)").format(
        count=W.numel()
    )
    n = W.numel()
    mean_tol = unit.INIT_MEAN_SIGMAS * unit.INIT_STD / math.sqrt(n)
    share, share_tol = unit.INIT_NORMAL_WITHIN_ONE_STD
    expected = _("values from a normal distribution with mean 0 and standard deviation {std}").format(std=unit.INIT_STD)  # fmt: skip
    got = _("mean {mean}, standard deviation {std}").format(mean=f"{mean:.3g}", std=f"{std:.3g}")
    if not abs(std - unit.INIT_STD) <= unit.INIT_STD_RTOL * unit.INIT_STD or abs(mean) > mean_tol:
        return report(cid, inp, expected, got, _init_hint(mean, std))
    if abs(within - share) > share_tol:
        got = _("{share} of the values within one standard deviation (a normal distribution has {normal})").format(
            share=f"{within:.1%}", normal=f"{share:.1%}")  # fmt: skip
        return report(cid, inp, expected, got, _("draw the weights from a normal distribution: "
                      "nn.init.normal_(m.weight, std=0.01), not a uniform one"))  # fmt: skip
    for _name, _shape, b in biases[:1]:
        largest = float(b.to(torch.float64).abs().max())
        if largest > unit.BIAS_BOUND + 1e-7:
            return report(
                cid,
                _("the bias of net as your notebook initialises it"),
                _("zeros (nn.init.zeros_), or nn.Linear's own initial values (at most {bound} in size)").format(
                    bound=f"{unit.BIAS_BOUND:.4f}"),
                fmt(b),
                _("d2l starts the bias at 0: nn.init.zeros_(m.bias), or leave nn.Linear's default"),
            )  # fmt: skip
    return result(cid, True)


def _init_hint(mean, std):
    """Why the weights' statistics are off."""
    default = 1 / math.sqrt(3 * unit.NUM_INPUTS)  # nn.Linear: uniform(-1/sqrt(784), 1/sqrt(784))
    if abs(std - default) <= 0.1 * default:
        return _("these are nn.Linear's default initial weights: apply d2l's init_weights to the "
                 "net (net.apply(init_weights), with nn.init.normal_(m.weight, std=0.01))")  # fmt: skip
    if abs(std - 1.0) < 0.1:
        return _("nn.init.normal_(w, 0.01) sets the MEAN to 0.01 (its second argument is mean): "
                 "write nn.init.normal_(w, std=0.01) or normal_(w, 0, 0.01)")  # fmt: skip
    if std == 0:
        return _("all weights are equal: draw them at random, nn.init.normal_(m.weight, std=0.01)")
    return _("initialise the weight with nn.init.normal_(m.weight, mean=0, std=0.01)")


CHECKS = [
    Check(
        "net.structure",
        net_structure,
        describe=N_(
            "net maps images of shape (n, 1, 28, 28) to (n, 10) logits through one linear layer (an nn.Sequential or an nn.Module of your own)"
        ),
        public=True,
    ),
    Check(
        "net.shapes",
        net_shapes,
        describe=N_(
            "net has exactly two parameters: a weight of shape (10, 784) and a bias of shape (10,), 7850 numbers"
        ),
        public=True,
    ),
    Check(
        "net.init",
        net_init,
        describe=N_(
            "after init_weights, the weights have mean about 0 and standard deviation about 0.01, and the biases are small"
        ),
        public=True,
    ),
]
"""This object's checks, in grading order (autograder/checks/registry.py)."""
