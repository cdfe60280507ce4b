"""Round 2 (issue 20, item 6): attacks on the harness that shares the worker's interpreter.

The forgery that scored a blank notebook 44/44 (top-level code replacing the worker's
``execute_call``/``run_training`` through ``sys.modules``), and the other ways in: the recorder's
pause counter, the dispatch-mode stack, frames from a traceback, ``torch.sys``, pickle, the real
``eval`` from ``__builtins__``, forged counters on the objects handed to ``train_ch3``,
``gc.get_objects`` and a computed ``getattr``. Each must earn nothing it did not earn honestly.
"""

from __future__ import annotations

import textwrap

STUB = "def {name}({args}):\n    # YOUR CODE HERE\n    raise NotImplementedError()\n"
ARGS = {"softmax": "X", "cross_entropy": "y_hat, y", "accuracy": "y_hat, y",
        "train_ch3": "net, train_iter, test_iter, loss, num_epochs, updater"}  # fmt: skip


def _stub(name: str) -> str:
    return STUB.format(name=name, args=ARGS[name])


FORGERY = """
import sys
import torch

{stub}

_worker = sys.modules.get('autograder.sandbox.worker')
_calls = sys.modules.get('autograder.units.softmax_regression.calls')


def _softmax(X):
    return torch.softmax(X, dim=1)


def _cross_entropy(y_hat, y):
    return -torch.log(y_hat[range(len(y_hat)), y])


def _accuracy(y_hat, y):
    return float((y_hat.argmax(axis=1).type(y.dtype) == y).type(y.dtype).sum())


{train}


def _forged_namespace(namespace):
    return dict(namespace, softmax=_softmax, cross_entropy=_cross_entropy,
                accuracy=_accuracy, train_ch3=_train_ch3)


if _worker is not None and _calls is not None:
    _execute, _train = _worker.execute_call, _worker.run_training

    def _forged_call(namespace, *args, **kwargs):
        _calls._paused[0] += 1
        try:
            return _execute(_forged_namespace(namespace), *args, **kwargs)
        finally:
            _calls._paused[0] -= 1

    def _forged_training(namespace, *args, **kwargs):
        return _train(_forged_namespace(namespace), *args, **kwargs)

    _worker.execute_call, _worker.run_training = _forged_call, _forged_training
"""


def forgery_sources(honest_train: str) -> dict[str, str]:
    """The issue's forgery: all four functions blank, the harness replaced by top-level code."""
    train = honest_train.replace("def train_ch3(", "def _train_ch3(")
    return {
        "softmax": FORGERY.format(stub=_stub("softmax"), train=train),
        "cross_entropy": _stub("cross_entropy"),
        "accuracy": _stub("accuracy"),
        "train_ch3": _stub("train_ch3"),
    }


def add(corpus):
    """Add this layer's attacks to `corpus` (tests/files/redteam/build.py's Corpus)."""
    Attack = type(next(iter(corpus.cases.values())))  # build.Attack, without importing build.py
    cases = corpus.cases

    def blank(name, what, sources, **attack):
        """A notebook of `sources` (grade_id -> code), every other graded cell left blank."""
        cells = {n: _stub(n) for n in ARGS}
        cells.update(sources)
        corpus.notebook(name, cells)
        cases[name] = Attack(
            "harness", what, ("forbidden",), honest_kept=False, max_points=0, **attack
        )

    blank("forge_blank_notebook", "blank functions; top-level code replaces the worker's "
          "execute_call/run_training through sys.modules (scored 44/44 before)",
          forgery_sources(corpus.honest["train_ch3"]))  # fmt: skip
    torch_softmax = "    return torch.softmax(X, dim=1)\n"
    blank("pause_recorder", "calls._paused[0] += 1, then torch.softmax", {"softmax": (
        "import torch\nfrom autograder.units.softmax_regression import calls\n\n\n"
        "def softmax(X):\n    calls._paused[0] += 1\n" + torch_softmax)})  # fmt: skip
    blank("pop_dispatch_mode", "pops the operator recorder via torch.utils._python_dispatch",
          {"softmax": "import torch\nfrom torch.utils._python_dispatch import _pop_mode\n\n\n"
                      "def softmax(X):\n    _pop_mode()\n" + torch_softmax})  # fmt: skip
    blank("recorder_by_mode_getter", "clears the recorder found by _get_current_dispatch_mode",
          {"softmax": "import torch\nimport torch.utils._python_dispatch as d\n\n\n"
                      "def softmax(X):\n    d._get_current_dispatch_mode().seen.clear()\n"
                      + torch_softmax})  # fmt: skip
    blank("frame_from_traceback", "the harness's globals through an exception's traceback frames",
          {"softmax": textwrap.dedent("""
              import torch


              def softmax(X):
                  try:
                      raise ValueError()
                  except ValueError as err:
                      harness = err.__traceback__.tb_frame.f_back.f_globals
                  harness['_paused'][0] += 1
                  return torch.softmax(X, dim=1)
              """)})  # fmt: skip
    blank("torch_sys_modules", "torch.sys.modules to reach the grader's calls module",
          {"softmax": "import torch\n\n\ndef softmax(X):\n"
                      "    torch.sys.modules['autograder.units.softmax_regression.calls']._paused[0] += 1\n"
                      + torch_softmax})  # fmt: skip
    blank("builtins_eval", "globals()['__builtins__']['eval'] to import sys",
          {"softmax": "import torch\n\n\ndef softmax(X):\n"
                      "    ev = globals()['__builtins__']['eval']\n"
                      "    ev(\"__import__('sys').modules['autograder.units.softmax_regression.calls']._paused\")[0] += 1\n"
                      + torch_softmax})  # fmt: skip
    blank("gc_objects", "gc.get_objects to find the recorder",
          {"softmax": "import gc\nimport torch\n\n\ndef softmax(X):\n"
                      "    for o in gc.get_objects():\n"
                      "        if type(o).__name__ == 'OperatorRecorder':\n"
                      "            o.seen.clear()\n" + torch_softmax})  # fmt: skip
    blank("computed_getattr", "getattr(torch, 'sy' + 's') (a computed attribute name)",
          {"softmax": "import torch\n\n\ndef softmax(X):\n"
                      "    getattr(torch, 'sy' + 's').modules['autograder.units.softmax_regression.calls']._paused[0] += 1\n"
                      + torch_softmax})  # fmt: skip
    payload = (b"cbuiltins\neval\n(S\"__import__('sys').modules['autograder.units."
               b"softmax_regression.calls']._paused.__setitem__(0, 1)\"\ntR.")  # fmt: skip
    blank("pickle_torch_load", "torch.load(weights_only=False) of crafted bytes whose find_class "
          "fetches eval (passes the static gate; the worker's audit hook refuses find_class)",
          {"softmax": f"import io\nimport torch\n\nPAYLOAD = {payload!r}\n\n\ndef softmax(X):\n"
                      "    torch.load(io.BytesIO(PAYLOAD), weights_only=False)\n" + torch_softmax})  # fmt: skip
    blank("forged_counters", "a train_ch3 that does not train and sets the counters of the "
          "objects it is handed (passes, batches, loss calls, updater steps)",
          {"train_ch3": textwrap.dedent("""
              def train_ch3(net, train_iter, test_iter, loss, num_epochs, updater):
                  for it in (train_iter, test_iter):
                      it.passes = num_epochs
                      it.batches_seen = num_epochs * len(it)
                  loss.calls = num_epochs * len(train_iter)
                  updater.zero_grads = num_epochs * len(train_iter)
                  updater.snapshots.calls = num_epochs * len(train_iter)
                  updater.snapshots.taken = {1: updater.params if hasattr(updater, 'params') else []}
              """)}, train=("train_ch3.updates", "train_ch3.accuracy", "train_ch3.end_to_end"))  # fmt: skip
    cases["forged_counters"].softmax = ("error",)  # softmax is the blank stub: not run
    # The reply path: json.dumps replaced through a function's parameter (the static gate follows
    # names, not values), rewriting the replies of this identity softmax into torch's softmax of
    # its argument. The worker's Channel encodes and frames with C functions captured before
    # student code (wire.py): on the old reply path this earned 8 softmax points, not 5.
    corpus.write("reply_path_via_parameter", textwrap.dedent("""
        import base64
        import json

        import torch

        real_dumps = json.dumps
        DTYPES = {'float32': torch.float32, 'float64': torch.float64}


        def decoded(d):
            raw = bytearray(base64.b64decode(d['data']))
            return torch.frombuffer(raw, dtype=DTYPES[d['__tensor__']]).reshape(d['shape']).clone()


        def encoded(t, name):
            return {'__tensor__': name, 'shape': list(t.shape),
                    'data': base64.b64encode(t.contiguous().numpy().tobytes()).decode()}


        def forge(obj, *args, **kwargs):
            # a reply whose value is its first argument unchanged (this softmax's) becomes softmax
            after = obj.get('args_after') if isinstance(obj, dict) else None
            if after and isinstance(after[0], dict) and obj.get('value') == after[0]:
                name = after[0].get('__tensor__')
                if name in DTYPES and len(after[0]['shape']) == 2:
                    obj['ok'], obj['ops'] = True, []
                    obj['value'] = encoded(torch.softmax(decoded(after[0]), dim=1), name)
            return real_dumps(obj, *args, **kwargs)


        def install(module):
            module.dumps = forge


        installed = install(json)


        def softmax(X):
            return X.clone()
        """))  # fmt: skip
    cases["reply_path_via_parameter"] = Attack(
        "harness", "json.dumps replaced through a function's parameter, forging the replies into "
        "torch's softmax of the arguments", ("passed", "failed", "error"),
        max_points=19,  # what `return X.clone()` earns honestly (5) and the honest functions (14)
    )  # fmt: skip
