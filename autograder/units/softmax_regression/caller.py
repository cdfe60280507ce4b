"""How checks reach student code: a Caller calls it and runs its training, wherever it lives."""

from __future__ import annotations

import torch

from autograder import config
from autograder.units.softmax_regression import data, references


class Caller:
    """Student code behind one interface; subclasses say where it runs (kernel or worker process)."""

    FOLLOWED = ("end_to_end",)
    """Runs judged as soon as their verdict is known (config.STOP_EARLY): at the end of the first
    epoch that reaches the top accuracy tier, or of the first epoch if the parameters have left
    the grader's SGD run there; the worker reports every epoch's end, and is stopped there."""

    def __init__(self, device="cpu"):
        self.device = str(device)
        self._runs = {}
        self._epoch_ends: dict[str, dict[int, list]] = {}
        """mode -> epoch -> [W, b] at its end, as a followed run reported them (progress)."""

    def call(self, fn, args, grad_wrt=(), cotangent=None, device=None):
        """Call student function `fn` on `args`; return execute_call's reply dict."""
        raise NotImplementedError

    def _train(self, mode):
        """Run train_ch3 in `mode`; return run_training's reply dict."""
        raise NotImplementedError

    def train(self, mode):
        """The training run of `mode` (run once, then cached), with the grader's test accuracy."""
        if mode not in self._runs:
            run = self._train(mode)
            if run.get("ok") and self.follows(mode) and not run.get("stopped_after"):
                run = self._cut(run, mode)  # run to its end here: judged as if it had been followed
            if run.get("ok"):
                run = self._measure(run)
            self._runs[mode] = run
        return self._runs[mode]

    def follows(self, mode) -> bool:
        """Whether run `mode` is judged as soon as its verdict is known (progress)."""
        return config.STOP_EARLY and mode in self.FOLLOWED

    def progress(self, mode, state):
        """A followed run at the end of epoch state["epoch"]: the run as it stands if its verdict
        is known (its parameters reach the top tier, or have left the grader's SGD run where the
        check compares them): it stops there; else None (it goes on)."""
        W, b, epoch = state.get("W"), state.get("b"), state.get("epoch")
        if not (_shaped(W, b) and type(epoch) is int and epoch >= 1):
            return None
        ends = self._epoch_ends.setdefault(mode, {})
        last = min(state["epochs"], config.NUM_EPOCHS) if type(state.get("epochs")) is int else 0
        if epoch >= last or epoch in ends:
            return None  # the last epoch's reply is the run's own; each epoch is measured once
        ends[epoch] = [W, b]
        bpe = state.get("batches_per_epoch")
        if not (self._left_reference(mode, epoch, W, b, bpe) or self._reaches_top_tier(W, b)):
            return None
        snapshots = (
            {str(e * bpe): params for e, params in sorted(ends.items())} if type(bpe) is int else {}
        )
        known = ("seconds", "steps", "zero_grads", "loss_calls", "train_passes", "test_passes",
                 "train_batches", "test_batches", "curve", "batches_per_epoch",
                 "test_batches_per_epoch", "epochs")  # fmt: skip
        return {**{k: state[k] for k in known if k in state}, "ok": True, "W": W, "b": b,
                "snapshots": snapshots, "failed_assert": "", "stopped_after": epoch}  # fmt: skip

    def _cut(self, run, mode):
        """A followed run that ran to its end: cut at the first epoch whose parameters (its
        snapshot) decide it, as progress() would have stopped it."""
        bpe, epochs = run.get("batches_per_epoch"), run.get("epochs")
        snapshots = run.get("snapshots") or {}
        if type(bpe) is not int or type(epochs) is not int:
            return run
        for epoch in range(1, epochs):
            params = snapshots.get(str(epoch * bpe))
            if not (isinstance(params, list) and len(params) == 2 and _shaped(*params)):
                continue
            if self._left_reference(mode, epoch, *params, bpe) or self._reaches_top_tier(*params):
                kept = {k: v for k, v in snapshots.items() if k.isdigit() and int(k) <= epoch * bpe}
                curve = run.get("curve") or []
                return {**run, "W": params[0], "b": params[1], "snapshots": kept,
                        "curve": curve[: epoch - 1], "failed_assert": "", "stopped_after": epoch}  # fmt: skip
        return run

    def _left_reference(self, mode, epoch, W, b, bpe) -> bool:
        """Whether the parameters at the end of epoch `epoch` of run `mode` have left the grader's
        SGD run where the end-to-end check compares them (after the first epoch): that check
        then gives no points whatever the later epochs do. The check's own comparison decides.
        `bpe` comes from the worker: a count the grader's run has no snapshot for is not judged
        here (the run goes on, and its reply is judged as before)."""
        from autograder.units.softmax_regression.checks import train_ch3

        if mode != "end_to_end" or epoch != 1 or type(bpe) is not int:
            return False
        if bpe not in references.sgd_run(mode)["snapshots"]:
            return False
        return train_ch3.trajectory_gap({"snapshots": {str(bpe): [W, b]}}, mode, [bpe]) is not None

    def _reaches_top_tier(self, W, b) -> bool:
        """Whether W, b classify the hidden test images at the top tier's accuracy or better."""
        X_hidden, y_hidden = data.hidden_arrays("cpu")
        return references.test_accuracy(W, b, X_hidden, y_hidden) >= config.ACCURACY_TIERS[0][0]

    def _measure(self, run):
        """Add the test accuracy of the returned parameters, measured here on the hidden test images."""
        W, b = run.get("W"), run.get("b")
        if not _shaped(W, b):
            return {
                "ok": False,
                "status": "error",
                "error": "training did not leave parameters of shape (784, 10) and (10,)",
            }
        X_hidden, y_hidden = data.hidden_arrays("cpu")
        run["test_accuracy"] = references.test_accuracy(W, b, X_hidden, y_hidden)
        return run


def _shaped(W, b) -> bool:
    """Whether W, b are plain tensors of the model's shapes, (784, 10) and (10,)."""
    return (
        type(W) is torch.Tensor
        and type(b) is torch.Tensor
        and tuple(W.shape) == (784, 10)
        and tuple(b.shape) == (10,)
    )
