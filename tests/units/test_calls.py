"""calls.execute_training on a train_ch3 that fails its own assert, as d2l-zh's does: after the last
epoch the run is kept (and the assert reported), before it the run is an error."""

from __future__ import annotations

import torch
from helpers.loading import corpus_module
from helpers.paths import IMPLS, ROOT
from helpers.tiny_training import train

from autograder.units.softmax_regression import calls


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

    proc = subprocess.run([sys.executable, "-c", NO_DYNAMO], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.splitlines() == ["dynamo False True 5 True", "equal True"], proc.stdout


# -- the harness out of student code's reach (issue 20, item 6) ---------------------------------
HOOKED = r"""
import gc, io, pickle, sys, ctypes, collections, logging
import torch, torch.nn.functional
from autograder.sandbox import audit
from autograder.units.softmax_regression import calls
audit.arm()
refused = {}
def probe(name, f):
    try:
        f()
        refused[name] = False
    except audit.Refused:
        refused[name] = True
def tb():
    try:
        raise ValueError()
    except ValueError as err:
        return err.__traceback__.tb_frame
def gen():
    yield 1
probe("sys._getframe", lambda: sys._getframe())
probe("sys._current_frames", lambda: sys._current_frames())
import traceback
probe("walk_stack", lambda: next(traceback.walk_stack(None)))
torch.manual_seed(0)  # torch.cuda's lazy seeding keeps traceback.format_stack(): allowed
probe("sys.settrace", lambda: sys.settrace(None))
probe("sys.setprofile", lambda: sys.setprofile(None))
heard = []
sys.addaudithook(lambda event, args: heard.append(event))  # refused quietly: never added
sorted([1])
compile("1", "<probe>", "eval")
refused["sys.addaudithook"] = not heard
probe("gc.get_objects", gc.get_objects)
probe("gc.get_referrers", lambda: gc.get_referrers(calls))
probe("pickle", lambda: pickle.loads(b"cbuiltins\neval\n(S'1'\ntR."))
probe("torch.load", lambda: torch.load(io.BytesIO(b"cbuiltins\neval\n(S'1'\ntR."), weights_only=False))
probe("tb_frame", tb)
probe("gi_frame", lambda: gen().gi_frame)
probe("ctypes", lambda: ctypes.CDLL(None))
ns = {"__builtins__": audit.student_builtins()}
probe("import autograder", lambda: exec("import autograder.units.softmax_regression.calls", ns))
probe("from . import", lambda: exec("from . import calls", dict(ns, __name__="__main__")))
ok = {}
ok["namedtuple"] = collections.namedtuple("P", "x y")(1, 2).y == 2
logging.getLogger("h4").info("still logs")
exec("import torch, math, numpy", ns)
exec(open(sys.argv[1]).read(), ns)
X = torch.randn(4, 10)
r = calls.execute_call(ns, "softmax", [X], (0,), torch.ones(4, 10))
ok["softmax"] = r["ok"] and r["grads"][0] is not None
W, b = calls.initial_parameters("cpu", 0)
gen_ = torch.Generator().manual_seed(0)
data = [[(torch.rand(8, 1, 28, 28, generator=gen_), torch.randint(0, 10, (8,), generator=gen_))] * 2] * 2
run = calls.execute_training(ns, net=calls.linear_net(lambda O: torch.softmax(O, dim=1), W, b),
                             loss=calls.grader_loss("cpu"), W=W, b=b, data=data, epochs=2,
                             lr=0.1, use_optimizer=True)
ok["training"] = run["ok"] and run["steps"] == 4
print(repr((refused, ok)))
"""


def test_the_audit_hook_refuses_each_way_in_and_torch_still_works(tmp_path):
    """In a fresh interpreter (a hook cannot be removed): every event of audit.REFUSED_EVENTS
    tried is refused, frames from tracebacks and generators, ctypes, pickle's globals, imports of
    the grader's modules; namedtuple, logging, a softmax with its gradient and a training run work."""
    import ast
    import subprocess
    import sys

    source = tmp_path / "student.py"
    source.write_text(
        (IMPLS / "base.py").read_text() + (IMPLS / "correct" / "train_d2l.py").read_text()
    )
    out = subprocess.run([sys.executable, "-c", HOOKED, str(source)], capture_output=True, text=True,
                         timeout=300, cwd=ROOT)  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    refused, ok = ast.literal_eval(out.stdout.strip().splitlines()[-1])
    assert all(refused.values()) and len(refused) == 15, refused
    assert all(ok.values()), ok


def test_a_popped_recorder_makes_the_call_forbidden():
    from torch.utils._python_dispatch import _pop_mode

    def softmax(X):
        _pop_mode()
        return torch.softmax(X, dim=1)

    reply = calls.execute_call({"softmax": softmax}, "softmax", [torch.zeros(2, 3)])
    assert reply["status"] == "forbidden" and "recorder" in reply["error"]
    assert torch._C._len_torch_dispatch_stack() == 0


def test_the_forgery_past_the_gate_earns_nothing_in_a_real_worker():
    """The issue's forgery, defined in a worker as if the gate had let it through: the worker's
    harness is bound before student code runs and its import of sys.modules' grader modules...
    sys itself is importable, so it replaces worker.execute_call: serve() keeps its own."""
    from autograder.sandbox import runner
    from autograder.submissions.notebook import Extraction

    module = corpus_module("redteam", "round2_harness")
    train = (IMPLS / "correct" / "train_d2l.py").read_text()
    sources = module.forgery_sources(train)
    caller = runner.WorkerCaller(Extraction("", sources["softmax"] + "\n" + sources["accuracy"]))
    try:
        reply = caller.call("softmax", [torch.zeros(2, 3)])
        acc = caller.call("accuracy", [torch.eye(3), torch.arange(3)])
    finally:
        caller.close()
    assert not reply["ok"] and "NotImplementedError" in reply["error"], reply
    assert not acc["ok"] and "NotImplementedError" in acc["error"], acc
