"""calls.execute_training on a train_ch3 that fails its own assert, as d2l-zh's does: after the last
epoch the run is kept (and the assert reported), before it the run is an error."""

from __future__ import annotations

from pathlib import Path

import torch

from autograder.units.softmax_regression import calls

IMPLS = Path(__file__).parents[1] / "files" / "impls"


def namespace(corpus_file: str) -> dict:
    """base.py's correct helpers and functions, then one corpus file's definitions over them."""
    ns: dict = {}
    for path in (IMPLS / "base.py", IMPLS / corpus_file):
        exec(compile(path.read_text(), str(path), "exec"), ns)  # noqa: S102 - our own fixtures
    return ns


def tiny_data():
    """4 training and 2 test minibatches of 8 noise images: far from d2l-zh's asserted loss."""
    gen = torch.Generator().manual_seed(0)
    return tuple(
        [(torch.rand(8, 1, 28, 28, generator=gen), torch.randint(0, 10, (8,), generator=gen)) for _ in range(n)]
        for n in (4, 2)
    )  # fmt: skip


def train(corpus_file: str, epochs: int = 2) -> dict:
    """execute_training of the corpus file's train_ch3 with the grader's model, loss and SGD."""
    W, b = calls.initial_parameters("cpu", 0)
    return calls.execute_training(
        namespace(corpus_file),
        net=calls.linear_net(lambda O: torch.softmax(O, dim=1), W, b),
        loss=calls.grader_loss("cpu"),
        W=W,
        b=b,
        data=tiny_data(),
        epochs=epochs,
        lr=0.1,
        use_optimizer=True,
    )


def test_a_train_ch3_without_asserts_reports_none():
    run = train("correct/train_d2l.py")
    assert run["ok"] and run["failed_assert"] == "" and run["steps"] == 8


def test_d2l_zhs_final_asserts_keep_the_finished_run_and_are_reported():
    run = train("correct/train_zh_asserts.py")
    assert run["ok"], run
    assert run["failed_assert"].startswith("AssertionError: "), run["failed_assert"]
    assert (run["steps"], run["train_passes"], run["test_passes"]) == (8, 2, 2)
    assert len(run["curve"]) == 2


def test_an_assert_inside_the_epoch_loop_stops_the_run_with_an_error():
    run = train("broken/train_zh_asserts_in_loop.py", epochs=3)
    assert not run["ok"] and run["status"] == "error", run
    assert run["epochs_done"] == 1 and run["assert_stopped"].startswith("AssertionError: ")
    assert "an assert stopped train_ch3 before its last epoch had finished" in run["error"]


NO_DYNAMO = """
import sys
import torch
from autograder.units.softmax_regression import calls

class Steps:
    def after_step(self):
        pass

torch.manual_seed(0)
X, y = torch.randn(64, 784), torch.randint(0, 10, (64,))
W0, b0 = torch.randn(784, 10) * 0.01, torch.zeros(10)

def run(make):
    W, b = W0.clone().requires_grad_(), b0.clone().requires_grad_()
    opt = make([W, b])
    for _ in range(5):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(X @ W + b, y).backward()
        opt.step()
    return W, b, opt

W, b, ours = run(lambda p: calls.CountingSGD(p, 0.1, Steps()))
with calls.OperatorRecorder() as rec:
    torch.softmax(X, dim=1).sum()
isinstance_ok = isinstance(ours, torch.optim.Optimizer) and isinstance(ours, torch.optim.SGD)
print("dynamo", "torch._dynamo" in sys.modules, isinstance_ok, ours.zero_grads, "aten::_softmax" in rec.names())
W2, b2, _ = run(lambda p: torch.optim.SGD(p, lr=0.1))
print("equal", torch.equal(W, W2) and torch.equal(b, b2))
"""


def test_the_grader_updater_is_torch_sgd_bit_for_bit_without_importing_dynamo():
    """CountingSGD is a torch.optim.Optimizer (d2l's isinstance test) whose steps equal
    torch.optim.SGD's; neither it nor the operator recorder imports torch._dynamo, which costs
    about 3.5 s of CPU in every worker and in the grader (tests/sandbox/test_forkserver.py)."""
    import subprocess
    import sys

    root = Path(__file__).parents[2]
    proc = subprocess.run([sys.executable, "-c", NO_DYNAMO], cwd=root, capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.splitlines() == ["dynamo False True 5 True", "equal True"], proc.stdout
