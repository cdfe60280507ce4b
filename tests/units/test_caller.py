"""The unit's Caller (units/softmax_regression/caller.py): a followed run is judged as soon as its
verdict is known (the end of the first epoch whose parameters reach the top accuracy tier, or of
the first epoch when they have left the grader's SGD run there), whether its worker was stopped
there (``progress``) or the run went on to its last epoch (``train`` cuts it there)."""

from __future__ import annotations

import pytest
import torch

from autograder import config
from autograder.units.softmax_regression.caller import Caller

EPOCHS, BPE = 10, 5


class Scripted(Caller):
    """A Caller whose parameters reach the top tier at the epochs listed (W[0, 0] holds the epoch),
    and whose one training run is `run`."""

    def __init__(self, reaching, run=None, leaving=False):
        super().__init__("cpu")
        self.reaching, self.run, self.leaving = set(reaching), run, leaving

    def _reaches_top_tier(self, W, b):
        return int(W[0, 0]) in self.reaching

    def _left_reference(self, mode, epoch, W, b, bpe):
        """`leaving`: epoch 1's parameters are off the grader's SGD run (the real comparison is
        tested below)."""
        return self.leaving and mode == "end_to_end" and epoch == 1 and bpe == BPE

    def _train(self, mode):
        return dict(self.run)


def params(epoch):
    """[W, b] of the model's shapes, marked with `epoch`."""
    W = torch.zeros(784, 10)
    W[0, 0] = epoch
    return [W, torch.zeros(10)]


def curve(epochs):
    return [[e + 1.0, 0.5, 0.8, 0.8] for e in range(epochs)]


def state(epoch):
    """What a worker reports at the end of epoch `epoch` (calls.execute_training's progress)."""
    W, b = params(epoch)
    return {"op": "progress", "nonce": "n", "epoch": epoch, "epochs": EPOCHS, "W": W, "b": b,
            "batches_per_epoch": BPE, "test_batches_per_epoch": 2, "steps": epoch * BPE,
            "loss_calls": epoch * BPE, "zero_grads": None, "train_passes": epoch,
            "test_passes": epoch - 1, "train_batches": epoch * BPE, "test_batches": 2 * epoch - 2,
            "curve": curve(epoch - 1), "seconds": 0.1 * epoch}  # fmt: skip


def full_run():
    """A run that went on to its last epoch (its reply), with d2l-zh's failed final assert."""
    snapshots = {"1": params(0), "2": params(0), "3": params(0)}
    snapshots |= {str(e * BPE): params(e) for e in range(1, EPOCHS + 1)}
    return {"ok": True, "W": params(EPOCHS)[0], "b": params(EPOCHS)[1], "snapshots": snapshots,
            "batches_per_epoch": BPE, "test_batches_per_epoch": 2, "epochs": EPOCHS,
            "steps": EPOCHS * BPE, "loss_calls": EPOCHS * BPE, "zero_grads": None,
            "curve": curve(EPOCHS), "failed_assert": "AssertionError: train_loss < 0.5",
            "seconds": 1.0}  # fmt: skip


def follow(caller, epochs):
    """caller.progress for each epoch's state in turn: the list of its answers."""
    return [caller.progress("end_to_end", state(e)) for e in epochs]


def test_a_followed_run_stops_at_the_first_epoch_that_reaches_the_top_tier():
    answers = follow(Scripted({3, 4}), range(1, 4))
    assert answers[:2] == [None, None]
    run = answers[2]
    assert run["ok"] and run["stopped_after"] == 3
    assert torch.equal(run["W"], params(3)[0]) and torch.equal(run["b"], params(3)[1])
    # every epoch's end so far is in its trajectory (the end-to-end check compares epoch 1's)
    assert sorted(run["snapshots"], key=int) == [str(e * BPE) for e in (1, 2, 3)]
    assert torch.equal(run["snapshots"][str(BPE)][0], params(1)[0])
    assert run["steps"] == 3 * BPE and run["curve"] == curve(2) and run["failed_assert"] == ""
    assert "op" not in run and "nonce" not in run and "epoch" not in run


@pytest.mark.parametrize("reaching", [set(), {EPOCHS}], ids=["never", "only_at_the_last_epoch"])
def test_a_run_that_reaches_it_late_or_never_goes_on_to_its_own_reply(reaching):
    assert follow(Scripted(reaching), range(1, EPOCHS + 1)) == [None] * EPOCHS


def test_malformed_progress_is_ignored():
    caller = Scripted({1, 2, 3})
    W, b = params(2)
    for bad in ({"W": W[:5]}, {"b": b.double()[:3]}, {"W": W.tolist()}, {"epoch": 0},
                {"epoch": True}, {"epoch": "2"}):  # fmt: skip
        assert caller.progress("end_to_end", {**state(2), **bad}) is None, bad
    assert caller._epoch_ends.get("end_to_end", {}) == {}


def test_only_the_end_to_end_run_is_followed_and_only_when_configured(monkeypatch):
    caller = Caller("cpu")
    assert caller.follows("end_to_end") and not caller.follows("grader_model")
    monkeypatch.setattr(config, "STOP_EARLY", False)
    assert not caller.follows("end_to_end")


def test_a_run_that_went_on_is_judged_where_a_followed_run_would_have_stopped(monkeypatch):
    stopped = follow(Scripted({3, 4}), range(1, 4))[2]
    cut = Scripted({3, 4}, full_run()).train("end_to_end")
    assert cut["stopped_after"] == stopped["stopped_after"] == 3
    assert torch.equal(cut["W"], stopped["W"]) and torch.equal(cut["b"], stopped["b"])
    assert cut["curve"] == stopped["curve"] and cut["failed_assert"] == ""
    kept = sorted(cut["snapshots"], key=int)
    assert kept == ["1", "2", "3", *(str(e * BPE) for e in (1, 2, 3))]
    assert cut["test_accuracy"] == Caller("cpu")._measure(dict(stopped))["test_accuracy"]
    # never reached, reached only at the end, not followed, or the rule turned off: the whole run
    for reaching, mode in (({EPOCHS}, "end_to_end"), (set(), "end_to_end"), ({3}, "grader_model")):
        whole = Scripted(reaching, full_run()).train(mode)
        assert "stopped_after" not in whole and torch.equal(whole["W"], params(EPOCHS)[0])
        assert whole["failed_assert"]
    monkeypatch.setattr(config, "STOP_EARLY", False)
    whole = Scripted({3}, full_run()).train("end_to_end")
    assert "stopped_after" not in whole and torch.equal(whole["W"], params(EPOCHS)[0])


def test_the_top_tier_is_measured_on_the_hidden_test_images():
    caller = Caller("cpu")
    assert not caller._reaches_top_tier(torch.zeros(784, 10), torch.zeros(10))  # one class: 10%
    assert not caller._reaches_top_tier(torch.full((784, 10), float("nan")), torch.zeros(10))


class Counting(Scripted):
    """Scripted, counting how often the parameters are measured."""

    measured = 0

    def _reaches_top_tier(self, W, b):
        self.measured += 1
        return super()._reaches_top_tier(W, b)


def test_each_epoch_is_measured_once_and_none_from_the_last_on():
    """However many reports a run sends, the grader measures at most one per epoch before the
    last (the number of epochs a report claims is capped by config.NUM_EPOCHS)."""
    caller = Counting(set())
    for epoch in (1, 1, 1, 2, EPOCHS, EPOCHS + 5, 10**9):
        assert caller.progress("end_to_end", {**state(1), "epoch": epoch}) is None
    assert caller.measured == 2
    huge = {**state(1), "epoch": config.NUM_EPOCHS + 3, "epochs": 10**9}
    assert caller.progress("end_to_end", huge) is None and caller.measured == 2
    assert sorted(caller._epoch_ends["end_to_end"]) == [1, 2]


def test_a_run_that_left_the_reference_after_its_first_epoch_stops_there():
    """Its verdict is known then (the end-to-end check compares epoch 1's parameters: no points
    whatever follows): it stops, and a run that went on is cut there, the same run either way.
    Broken variants it rejects: a rule that never stops such a run, or one that stops it later."""
    stopped = Scripted(set(), leaving=True).progress("end_to_end", state(1))
    assert stopped["ok"] and stopped["stopped_after"] == 1 and stopped["steps"] == BPE
    assert list(stopped["snapshots"]) == [str(BPE)] and stopped["curve"] == []
    cut = Scripted(set(), full_run(), leaving=True).train("end_to_end")
    assert cut["stopped_after"] == 1 and torch.equal(cut["W"], stopped["W"])
    assert sorted(cut["snapshots"], key=int) == ["1", "2", "3", str(BPE)]
    assert follow(Scripted(set(), leaving=False), range(1, EPOCHS)) == [None] * (EPOCHS - 1)
    assert Scripted(set(), leaving=True).progress("grader_model", state(1)) is None


def test_leaving_the_reference_is_the_end_to_end_checks_own_comparison():
    """_left_reference asks the check's trajectory_gap: d2l's own first epoch stays on it, a
    slightly different one leaves it; only epoch 1 of the end-to-end run is compared."""
    from autograder.units.softmax_regression import data, references

    bpe = len(data.batches("cpu")[0])
    W, b = references.sgd_run("end_to_end")["snapshots"][bpe]
    caller = Caller("cpu")
    assert not caller._left_reference("end_to_end", 1, W, b, bpe)
    off = W * (1 + 10 * config.END_TO_END_RTOL)
    assert caller._left_reference("end_to_end", 1, off, b, bpe)
    assert not caller._left_reference("end_to_end", 2, off, b, bpe)
    assert not caller._left_reference("grader_model", 1, off, b, bpe)
    assert not caller._left_reference("end_to_end", 1, off, b, "235")  # a malformed count
    for forged in (0, -1, bpe + 1, 10**12):  # no snapshot of the grader's run there: not judged
        assert not caller._left_reference("end_to_end", 1, off, b, forged)
