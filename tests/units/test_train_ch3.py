"""The train_ch3 checks on runs whose train_ch3 failed its own assert (d2l-zh's habit): a finished
run is judged by what the grader measures and its messages say what happened; a stopped run fails."""

from __future__ import annotations

import torch
from helpers.tiny_training import tiny_data, train

from autograder.units.softmax_regression import calls
from autograder.units.softmax_regression.caller import Caller
from autograder.units.softmax_regression.checks import train_ch3


class TinyCaller(Caller):
    """A caller whose training runs execute_training on helpers.tiny_training's data, for 2 epochs."""

    def __init__(self, corpus_file):
        super().__init__("cpu")
        self.corpus_file = corpus_file

    def _train(self, mode):
        run = train(self.corpus_file)
        run.update(batches_per_epoch=4, test_batches_per_epoch=2, epochs=2)
        return run


def test_a_finished_run_whose_final_assert_failed_passes_and_says_so():
    res = train_ch3.train_ch3_test_set(TinyCaller("correct/train_zh_asserts.py"))
    assert res.passed and res.score == res.max_score, res
    assert res.message.startswith(
        "Note: your train_ch3 ended with a failed assert (AssertionError: "
    ), res.message
    assert "after the last of its 2 epochs" in res.message
    assert "the trained parameters and the test accuracy, not by the assert" in res.message


def test_a_failed_check_of_such_a_run_keeps_its_own_message_first():
    res = train_ch3.train_ch3_updates(TinyCaller("correct/train_zh_asserts.py"))
    assert not res.passed  # the tiny data are not the grader's: its SGD trajectory differs
    first, note = res.message.rsplit("\n", 1)
    assert first.startswith("Input: ") and note.startswith("Note: your train_ch3 ended")


def test_a_run_without_asserts_has_no_note():
    res = train_ch3.train_ch3_test_set(TinyCaller("correct/train_d2l.py"))
    assert res.passed and res.message == ""


def test_a_run_stopped_by_an_assert_fails_with_an_error_that_says_so():
    res = train_ch3.train_ch3_test_set(TinyCaller("broken/train_zh_asserts_in_loop.py"))
    assert not res.passed and res.score == 0 and res.status == "error"
    assert res.message.startswith(
        "train_ch3 did not finish: an assert stopped it after 1 of 2 epochs (AssertionError: "
    ), res.message
    assert "belong after the training loop" in res.message


def test_tiny_data_stay_far_from_d2l_zhs_asserted_loss():
    """The premise of these tests: 2 epochs on noise leave the loss above d2l-zh's 0.5."""
    W, b = calls.initial_parameters("cpu", 0)
    X, y = tiny_data()[0][0]
    assert (
        float(calls.grader_loss("cpu")(torch.softmax(X.reshape(8, -1) @ W + b, 1), y).mean()) > 0.5
    )
