"""The static gate (submissions/reach.py): each rule refuses what reaches the harness and accepts
what real implementations write; a refused notebook is not run, and a stub earns nothing."""

from __future__ import annotations

import pytest
from helpers.paths import IMPLS, ROOT

from autograder import config
from autograder.submissions import reach

VIOLATING = [
    ("import autograder.units.softmax_regression.calls", "import"),
    ("from autograder.sandbox import worker", "import"),
    ("import gc", "import"),
    ("import ctypes", "import"),
    ("import importlib", "import"),
    ("from pickle import loads", "import"),
    ("import torch.utils._python_dispatch", "import"),
    ("from torch._C import _len_torch_dispatch_stack", "import"),
    ("import _posixsubprocess", "import"),
    ("from unittest import mock", "import"),
    ("import timeit", "import"),
    ("import torch\nx = torch._C", "private"),
    ("def f(u):\n    return u._snapshots", "private"),
    ("def f(fn):\n    return fn.__globals__", "private"),
    ("def f(e):\n    return e.__traceback__", "private"),
    ("def f(tb):\n    return tb.tb_frame", "internals"),
    ("def f(fr):\n    return fr.f_back", "internals"),
    ("def f(c):\n    return c.co_consts", "internals"),
    ("from operator import attrgetter", "internals"),
    ("import torch\nx = torch.sys", "module"),
    ("import os\nx = os.sys", "module"),
    ("from os import sys", "module"),
    ("import torch\nx = torch.serialization.pickle", "module"),
    ("import sys\nx = sys.modules", "sys"),
    ("import sys as s\nx = s._getframe()", "sys"),
    ("import sys\nx = sys", "sys"),
    ("from sys import modules", "sys"),
    ("x = eval('1')", "builtin"),
    ("x = globals()", "builtin"),
    ("x = vars()", "builtin"),
    ("x = __builtins__", "builtin"),
    ("x = __import__('sys')", "builtin"),
    ("import torch\nx = getattr(torch, 'sy' + 's')", "getattr"),
    ("def f(o, n):\n    return getattr(o, n)", "getattr"),
    ("def f(o):\n    return getattr(o, '_paused')", "getattr"),
    ("import torch\nx = list(map(getattr, [torch], ['sys']))", "getattr"),
    ("import json\njson.dumps = str", "patch"),
    ("import torch\ntorch.Tensor.cpu = lambda self: self", "patch"),
    ("import json\nsetattr(json, 'dumps', str)", "patch"),
    ("import json as j\nk = j\nk.dumps = str", "patch"),
    ("def f(X):\n    t = type(X)\n    t.cpu = None", "patch"),
    ("def f(X):\n    X.__class__.cpu = None", "patch"),
]

PASSING = [
    "import torch\nimport numpy as np\nimport math\nfrom torch import nn",
    "import sys\nsys.path.append('..')\nprint(sys.version, file=sys.stderr)",
    "from sys import maxsize",
    "class Accumulator:\n    def __init__(self, n):\n        self.data = [0.0] * n\n"
    "    def __getitem__(self, idx):\n        return self.data[idx]",
    "def f(y):\n    return hasattr(y, '__len__') and getattr(y, 'shape', None)",
    "def f(net):\n    return net.__class__.__name__",
    "def f(W):\n    W.grad = None\n    W.data -= 1",
    "import torch\ndef f(X):\n    X_exp = torch.exp(X)\n    return X_exp / X_exp.sum(1, keepdim=True)",
    "from d2l import torch as d2l\ndef f(X):\n    return d2l.reduce_sum(X)",
    "import matplotlib.pyplot as plt\nfrom IPython import display",
]


@pytest.mark.parametrize("source, rule", VIOLATING)
def test_each_rule_refuses_its_code(source, rule):
    found = reach.scan(source)
    assert rule in {v.rule for v in found}, (source, found)


@pytest.mark.parametrize("source", PASSING)
def test_ordinary_code_passes(source):
    assert reach.scan(source) == []


def test_a_violation_names_its_line_code_and_rule_in_the_students_language():
    from autograder import i18n

    (v,) = reach.scan("import torch\n\n\ndef f(X):\n    return torch._C\n")
    assert (v.line, v.code, v.rule) == (5, "return torch._C", "private")
    assert "line 5: `return torch._C`" in v.message() and "Hint:" in v.message()
    with i18n.use("zh_CN"):
        assert "`return torch._C`" in v.message() and "Hint:" not in v.message()


@pytest.mark.parametrize("source, names", [
    ("def softmax(X):\n    '''doc'''\n    raise NotImplementedError()\n", ["softmax"]),
    ("def softmax(X):\n    pass\n    raise NotImplementedError\n", ["softmax"]),
    ("def softmax(X):\n    return X\ndef softmax(X):\n    raise NotImplementedError()\n", ["softmax"]),
    ("def softmax(X):\n    raise NotImplementedError()\ndef _s(X):\n    return X\nsoftmax = _s\n", []),
    ("def softmax(X):\n    raise NotImplementedError()\ndef softmax(X):\n    return X\n", []),
    ("@staticmethod\ndef softmax(X):\n    raise NotImplementedError()\n", []),
    ("def softmax(X):\n    raise NotImplementedError('x') from None\n", []),
])  # fmt: skip
def test_a_stub_is_found_whatever_top_level_code_does(source, names):
    assert reach.unimplemented(source, ["softmax", "accuracy"]) == names


CHEATS = {
    "broken/softmax_ops_string.py": "getattr",
    "broken/softmax_reloaded_torch.py": "import",
    "broken/train_least_squares.py": "internals",
    "concise/broken/sce_logsumexp_computed.py": "getattr",
}
"""tests/files/impls files (paths under it) that hide what they do, and the rule that refuses each:
the first unit's aten._softmax by a computed getattr, torch reloaded through importlib and
sys.modules, parameters read from a closure's cells; the concise unit's torch.logsumexp by a
computed getattr (``getattr(torch, "logsum" + "exp")``, no name for the source scan)."""

INDEX_STORES = (
    "G[torch.arange(X.shape[0]), y] -= 1",
    "G[torch.arange(X.shape[0]), y] += 1",
    "mask[torch.arange(len(y)), y] = 1",
)
"""Honest index stores into a local tensor whose index reads torch (Y_hat - Y written in place, the
closed-form gradient's idiom), as the concise corpus writes them: the gate once took
``torch.arange`` in the index for a store into torch (the rule "patch") and refused them (#22)."""


def test_the_projects_own_implementations_pass_the_gate_but_its_cheats_do_not():
    """Every implementation of tests/files/impls passes the gate but those that hide what they do,
    each refused by its rule."""
    files = sorted(IMPLS.rglob("*.py"))
    assert len(files) >= 60 + 50  # both units' corpora
    found = {str(f.relative_to(IMPLS)): reach.scan(f.read_text()) for f in files}
    flagged = {name for name, violations in found.items() if violations}
    assert flagged == set(CHEATS)
    for name, rule in CHEATS.items():
        assert rule in {v.rule for v in found[name]}, (name, found[name])


@pytest.mark.parametrize("source", INDEX_STORES)
def test_an_index_store_into_a_local_tensor_passes(source):
    """A store into a local tensor passes whatever its index reads (``torch.arange``)."""
    assert reach.scan(f"import torch\nG = torch.zeros(2, 3)\nX = y = mask = G\n{source}\n") == []


@pytest.mark.parametrize("source", [
    "import torch\ntorch.nn.functional.__dict__['softmax'] = print",
    "import torch\nF = torch.nn.functional\nF.__dict__[torch.arange(1)] = print",
    "import torch\nG = torch.zeros(2)\nG[0], torch.pi = 1, 2",
    "import torch\ndef f(m):\n    return m\nf(torch.nn).softmax = print",
])  # fmt: skip
def test_a_store_through_a_module_is_refused_whatever_its_index(source):
    """What must stay refused beside the index stores above: a store whose target's chain, not its
    index, starts at a module (also as one element of a tuple target)."""
    assert "patch" in {v.rule for v in reach.scan(source)}, reach.scan(source)


@pytest.mark.parametrize("edition", sorted(config.EDITIONS))
def test_each_units_own_solution_passes_the_gate(edition):
    """The instructor's notebook of every edition (its solutions as students would submit them)
    passes the gate of its unit."""
    from autograder import units
    from autograder.submissions.notebook import read_notebook

    name = units.get(edition).main_notebook
    source = read_notebook(ROOT / "source" / edition / name)
    release = read_notebook(ROOT / "release" / edition / name)
    assert reach.scan_notebook(source, release, edition) == []


PUBLIC = IMPLS / "public"
"""SOURCES.json there names the public implementations measured (their code is kept outside)."""

HONEST_PUBLIC_IDIOMS = [
    "import matplotlib.pyplot as plt\ndef set_figsize(figsize=(3.5, 2.5)):\n"
    "    plt.rcParams['figure.figsize'] = figsize",
    "from d2l import torch as d2l\nd2l.plt.rcParams['figure.figsize'] = (3.5, 2.5)",
    "def evaluate_accuracy(data_iter, net):\n    return 'is_training' in net.__code__.co_varnames",
]
"""What public implementations write that the gate once refused (see SOURCES.json's _doc)."""

NEAR_MISSES = [
    ("import matplotlib.pyplot as plt\nplt.rcParams = {}", "patch"),
    ("import matplotlib.pyplot as plt\nplt.rcParams.update = print", "patch"),
    ("import os\nos.environ['X'] = '1'", "patch"),
    ("import json\nx = json\nx.decoder['k'] = 1", "patch"),
    ("def f(g):\n    return g.__code__", "private"),
    ("def f(g):\n    c = g.__code__\n    return c.co_varnames", "private"),
    ("def f(g):\n    return g.__code__.co_consts", "private"),
    ("def f(g, h):\n    g.__code__.co_varnames = h", "private"),
    ("def f(g):\n    return g.__globals__.__code__.co_varnames", "private"),
]
"""Code beside the honest idioms that the narrowed rules still refuse."""


@pytest.mark.parametrize("source", HONEST_PUBLIC_IDIOMS)
def test_what_public_implementations_write_passes(source):
    assert reach.scan(source) == []


@pytest.mark.parametrize("source, rule", NEAR_MISSES)
def test_the_narrowed_rules_still_refuse_their_neighbours(source, rule):
    assert rule in {v.rule for v in reach.scan(source)}, reach.scan(source)


def test_public_implementations_are_listed_and_measured(tmp_path):
    """The public implementations the gate was measured on are listed (code kept outside the repo,
    scripts/gate_false_positives.py scans a folder of them); the script flags a violating excerpt
    and passes clean ones."""
    import json
    import subprocess
    import sys

    sources = {k for k in json.loads((PUBLIC / "SOURCES.json").read_text()) if k != "_doc"}
    assert len(sources) >= 25
    script = ROOT / "scripts" / "gate_false_positives.py"
    for name in sources:
        (tmp_path / f"{name}.py").write_text("import torch\n\n\ndef softmax(X):\n    return X\n")
    run = subprocess.run(
        [sys.executable, str(script), str(tmp_path)], capture_output=True, text=True
    )
    assert run.returncode == 0 and f"{len(sources)} public implementations, 0 flagged" in run.stdout
    (tmp_path / f"{sorted(sources)[0]}.py").write_text("import sys\nm = sys.modules\n")
    run = subprocess.run(
        [sys.executable, str(script), str(tmp_path)], capture_output=True, text=True
    )
    assert run.returncode == 1 and "[sys]" in run.stdout, run.stdout


def test_the_gate_scans_the_setup_calls_a_unit_keeps(monkeypatch):
    """A setup call the unit's notebook keeps (SETUP_CALLS) runs in the grader, so the gate reads
    it; for a unit without setup calls the statement is dropped, and nothing of it runs."""
    import sys
    import types

    from autograder import config

    spec = types.ModuleType("autograder.units.fake_setup.unit")
    spec.__dict__.update(MAIN_NOTEBOOK="n.ipynb", GRADED_FUNCTIONS=("net",), SETUP_CALLS={"apply"})
    monkeypatch.setitem(sys.modules, spec.__name__, spec)
    monkeypatch.setitem(config.UNITS, "fake_setup", "fake_setup")
    monkeypatch.setitem(config.EDITIONS, "fake_setup", "en")
    nb = {"cells": [{"cell_type": "code", "metadata": {}, "source": "net.apply(torch._C._x)\n"}]}
    found = reach.scan_notebook(nb, {"cells": []}, "fake_setup")
    assert [(v.rule, v.code) for v in found] == [("private", "net.apply(torch._C._x)")]
    assert reach.scan_notebook(nb, {"cells": []}) == []
