"""Finding graded code by content, and reading broken notebooks (autograder/submissions/notebook.py)."""

from __future__ import annotations

import ast
import json

import pytest
from helpers.fake_units import fake_unit as register_unit
from helpers.paths import ROOT

from autograder import config, units
from autograder.submissions import notebook
from autograder.submissions.notebook import (
    MalformedNotebook,
    definitions,
    extract,
    forbidden_uses,
    read_notebook,
)


def cell(src, gid=None, solution=False, grade=False, locked=False):
    meta = (
        {"nbgrader": {"grade_id": gid, "solution": solution, "grade": grade, "locked": locked}}
        if gid
        else {}
    )
    return {
        "cell_type": "code",
        "metadata": meta,
        "source": src,
        "outputs": [],
        "execution_count": None,
    }


RELEASE = {
    "nbformat": 4,
    "nbformat_minor": 5,
    "metadata": {},
    "cells": [
        cell("import torch\nclass Accumulator:\n    pass\ntrain_ch3(1)\n", "setup", locked=True),
        cell("def softmax(X):\n    raise NotImplementedError()", "softmax", solution=True),
        cell(
            "def cross_entropy(y_hat, y):\n    raise NotImplementedError()",
            "cross_entropy",
            solution=True,
        ),
        cell("assert softmax(1)", "test_softmax", grade=True, locked=True),
    ],
}


def student(*cells):
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": list(cells)}


def test_functions_found_by_grade_id_and_top_level_code_dropped():
    nb = student(
        cell("import os\nos.system('x')", "setup", locked=True),  # edited read-only cell: ignored
        cell("def softmax(X):\n    return X\nprint('demo')\nsoftmax(3)", "softmax", solution=True),
    )
    ext = extract(nb, RELEASE)
    assert "class Accumulator" in ext.release_source and "train_ch3(1)" not in ext.release_source
    assert "os.system" not in ext.release_source + ext.student_source
    assert "def softmax" in ext.student_source and "print" not in ext.student_source
    assert ext.found["softmax"] == "cell grade_id=softmax"
    assert "cross_entropy" in ext.missing and "accuracy" in ext.missing


def test_function_moved_to_another_cell_is_found_and_release_names_are_protected():
    nb = student(
        cell("x = 1", "softmax", solution=True),
        cell("def softmax(X):\n    return X\nclass Accumulator:\n    evil = True\nlr = 0.1"),
    )
    ext = extract(nb, RELEASE)
    assert ext.found["softmax"] == "code cell 2"
    assert "evil" not in ext.student_source and "lr = 0.1" in ext.student_source
    assert any("Accumulator" in w for w in ext.warnings)


def test_syntax_error_reported_as_missing_with_line():
    ext = extract(student(cell("def softmax(X):\n    return (", "softmax", solution=True)), RELEASE)
    assert "syntax error at line" in ext.missing["softmax"]


def test_magics_are_ignored_but_question_marks_in_code_are_kept():
    src = (
        '%matplotlib inline\n!pip install x\ntorch.sum?\ndef f():\n    """Is it stable?\n    """\n'
    )
    nodes, err = definitions(src)
    assert err is None and [n.name for n in nodes] == ["f"]
    assert "Is it stable?" in ast.unparse(nodes[0])


@pytest.mark.parametrize(
    "src, hit",
    [
        ("def softmax(X):\n    return torch.softmax(X, 1)", "torch.softmax"),
        ("def softmax(X):\n    return X.log_softmax(1).exp()", "X.log_softmax"),
        (
            "from torch.nn.functional import softmax as sm\ndef softmax(X):\n    return sm(X, 1)",
            "softmax",
        ),
        ("def softmax(X):\n    return getattr(torch, 'softmax')(X, 1)", "'softmax'"),
        (
            "def helper(X):\n    return F.softmax(X, 1)\ndef softmax(X):\n    return helper(X)",
            "F.softmax",
        ),
        ("def cross_entropy(y_hat, y):\n    return F.nll_loss(y_hat.log(), y)", "F.nll_loss"),
    ],
)
def test_forbidden_builtins_are_found(src, hit):
    nodes, _ = definitions(src)
    found = forbidden_uses(nodes)
    assert any(hit in h for hits in found.values() for h in hits), found


def test_from_scratch_code_is_not_flagged():
    src = "def softmax(X):\n    e = torch.exp(X - X.max(1, keepdim=True).values)\n    return e / e.sum(1, keepdim=True)\n"
    src += "def cross_entropy(y_hat, y):\n    return -torch.log(y_hat[range(len(y_hat)), y])\n"
    assert forbidden_uses(definitions(src)[0]) == {}


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "empty"),
        (b"{not json", "invalid JSON"),
        (b"def softmax(X): pass", "is this a notebook"),
        (json.dumps({"nbformat": 3, "worksheets": []}).encode(), "nbformat 3"),
        (b'{"cells": [], "x": "\xff\xfe"}', "not UTF-8"),
        (json.dumps({"nbformat": 4, "cells": [{"source": 3}]}).encode(), "not a notebook cell"),
    ],
)
def test_malformed_notebooks_name_the_file_and_problem(tmp_path, content, message):
    path = tmp_path / "softmax_regression.ipynb"
    path.write_bytes(content)
    with pytest.raises(MalformedNotebook) as err:
        read_notebook(path)
    assert message in str(err.value) and str(path) in str(err.value)


# -- cells read as IPython reads them (issue #11) --------------------------------------------------
D2L_PRINT = (
    "def train_ch3(net, train_iter, test_iter, loss, num_epochs, updater):\n"
    "    for epoch in range(num_epochs):\n"
    "        print('epoch %d, loss %.4f'\n"
    "              % (epoch + 1, 0.5))\n"
    "    return 0.1, 0.9, 0.8\n"
)

IPYTHON_CORPUS = [
    # (cell source, the function it must define, text that must not reach the graded source)
    (D2L_PRINT, "train_ch3", None),
    ("def softmax(X):\n    ok = (X.sum()\n          != 0)\n    return X\n", "softmax", None),
    ("def softmax(X):\n    return (X\n            % 7)\n", "softmax", None),
    ("%matplotlib inline\ndef softmax(X):\n    return X\n", "softmax", "matplotlib"),
    ("%timeit softmax(X)\ndef softmax(X):\n    return X\n", "softmax", "timeit"),
    ("!pip install d2l\ndef softmax(X):\n    return X\n", "softmax", "pip"),
    ("files = !ls\ndef softmax(X):\n    return X\n", "softmax", "getoutput"),
    ("torch.sum?\ndef softmax(X):\n    return X\n", "softmax", "pinfo"),
    ("torch.exp??\ndef softmax(X):\n    return X\n", "softmax", "pinfo"),
    ("?torch.max\ndef softmax(X):\n    return X\n", "softmax", "pinfo"),
    ("%%time\ndef softmax(X):\n    return X\n", "softmax", "time"),
    ("%%capture\nimport torch\ndef softmax(X):\n    return X\n", "softmax", "capture"),
    ("def softmax(X):\n    y = X ** 2  # 100%\n    return y\n", "softmax", None),
    ("def softmax(X):\n    # why subtract the max?\n    return X\n", "softmax", None),
    (
        'def softmax(X):\n    """Lines inside a string:\n?help\n%magic\n!shell\n"""\n    return X\n',
        "softmax",
        None,
    ),
    (
        "def softmax(X):\n    return [x\n            for x in X\n            if x\n            != 0]\n",
        "softmax",
        None,
    ),
]


@pytest.mark.parametrize("src, name, dropped", IPYTHON_CORPUS)
def test_cells_are_read_as_ipython_reads_them(src, name, dropped):
    """Every cell of the corpus runs in Jupyter; the grader finds its function and no magic."""
    ext = extract(
        student(cell(src, name if name != "train_ch3" else "train_ch3", solution=True)), RELEASE
    )
    assert name in ext.found, (src, ext.missing, ext.warnings)
    assert not ext.warnings, ext.warnings
    if dropped:
        assert dropped not in ext.student_source
    compile(ext.student_source, "<graded>", "exec")


def test_strings_keep_lines_that_look_like_magics():
    src = 'def softmax(X):\n    """Doc:\n?help\n%magic\n!shell\n"""\n    return X\n'
    ext = extract(student(cell(src, "softmax", solution=True)), RELEASE)
    assert "?help\n%magic\n!shell" in ext.student_source


def test_the_old_line_rule_broke_the_d2l_print():
    """The hand-written rule this replaces commented out the `%` continuation line: a syntax error."""
    old = "\n".join(
        "# " + ln if ln.strip().startswith(("%", "!", "?")) else ln for ln in D2L_PRINT.splitlines()
    )
    with pytest.raises(SyntaxError):
        ast.parse(old)
    assert definitions(D2L_PRINT)[1] is None


def test_a_cell_magic_that_is_not_python_defines_nothing():
    src = "%%writefile helper.py\ndef softmax(X):\n    return X\n"
    ext = extract(student(cell(src, "softmax", solution=True)), RELEASE)
    assert "softmax" in ext.missing


# -- what the top level of a solution cell defines ------------------------------------------------
def test_computed_constants_helpers_and_aliases_are_kept():
    src = (
        "import torch\n"
        "TINY = torch.finfo(torch.float64).tiny\n"
        "EPS: float = 1e-12\n"
        "SCALE = 2\n"
        "SCALE *= 3\n"
        "exp = torch.exp\n"
        "try:\n    import numpy as np\nexcept ImportError:\n    np = None\n"
        "def cross_entropy(y_hat, y):\n    return -torch.log(y_hat[range(len(y)), y].clamp(min=TINY))\n"
    )
    kept, err = definitions(src)
    assert err is None
    text = ast.unparse(ast.Module(body=kept, type_ignores=[]))
    for piece in (
        "TINY = torch.finfo",
        "EPS: float",
        "SCALE *= 3",
        "exp = torch.exp",
        "import numpy",
    ):
        assert piece in text, piece
    # The previous rule kept only literal assignments: TINY was lost (NameError when graded).
    old = ast.unparse(ast.Module(body=definitions(src, computed=False)[0], type_ignores=[]))
    assert "TINY = " not in old


@pytest.mark.parametrize(
    "demo",
    [
        "train_ch3(net, train_iter, test_iter, cross_entropy, num_epochs, updater)",
        "history = train_ch3(net, train_iter, test_iter, cross_entropy, 10, updater)",
        "acc = evaluate_accuracy(net, test_iter)",
        "train_iter, test_iter = load_data_fashion_mnist(256)",
        "fig = plt.figure()",
        "_ = d2l.plt.show()",
        "print(softmax(torch.ones(2, 3)))",
        "for epoch in range(10):\n    train_epoch_ch3(net, train_iter, cross_entropy, updater)",
        "while True:\n    pass",
        "with torch.no_grad():\n    W -= 1",
        "if True:\n    train_ch3(net, 1, 2, 3, 4, 5)",
        "softmax(torch.ones(2, 3))",
        "x = input('name?')",
    ],
)
def test_demo_code_is_dropped(demo):
    """A demo left in a solution cell costs neither time nor points: it is never run."""
    src = f"def softmax(X):\n    return X\n{demo}\n"
    ext = extract(student(cell(src, "softmax", solution=True)), RELEASE)
    assert ext.student_source.strip() == "def softmax(X):\n    return X"


def test_names_from_if_and_try_blocks_are_defined_and_protected():
    src = "try:\n    def softmax(X):\n        return X\nexcept Exception:\n    pass\n"
    ext = extract(student(cell(src, "softmax", solution=True)), RELEASE)
    assert ext.found["softmax"] == "cell grade_id=softmax"
    ext = extract(student(cell("if True:\n    class Accumulator:\n        pass\n")), RELEASE)
    assert any("Accumulator" in w for w in ext.warnings) and "Accumulator" not in ext.student_source


# -- notebooks saved under another name ------------------------------------------------------------
def _write(path, nb):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb), encoding="utf-8")
    return path


def test_a_renamed_notebook_is_found_by_its_grade_ids(tmp_path):
    from autograder.submissions.notebook import find_notebook

    nb = student(cell("def softmax(X):\n    return X", "softmax", solution=True))
    _write(tmp_path / "softmax_regression (1).ipynb", nb)
    _write(tmp_path / "notes.ipynb", student(cell("x = 1")))
    path, warnings = find_notebook(tmp_path, "softmax_regression.ipynb", RELEASE)
    assert path.name == "softmax_regression (1).ipynb"
    assert "softmax_regression (1).ipynb was graded as softmax_regression.ipynb" in warnings[0]
    # The file under its own name always wins.
    _write(tmp_path / "softmax_regression.ipynb", nb)
    assert find_notebook(tmp_path, "softmax_regression.ipynb", RELEASE) == (
        tmp_path / "softmax_regression.ipynb",
        [],
    )


def test_a_renamed_notebook_without_grade_ids_is_found_by_its_functions(tmp_path):
    from autograder.submissions.notebook import find_notebook

    _write(tmp_path / "mine.ipynb", student(cell("def cross_entropy(y_hat, y):\n    return y")))
    _write(tmp_path / "quiz.ipynb", student(cell("def cross_entropy(y_hat, y):\n    return y")))
    path, warnings = find_notebook(
        tmp_path, "softmax_regression.ipynb", RELEASE, taken={"quiz.ipynb"}
    )
    assert path.name == "mine.ipynb" and "the functions it defines" in warnings[0]


def test_two_candidates_are_a_clear_error(tmp_path):
    from autograder.submissions.notebook import AmbiguousNotebook, find_notebook

    nb = student(cell("def softmax(X):\n    return X", "softmax", solution=True))
    _write(tmp_path / "softmax_regression (1).ipynb", nb)
    _write(tmp_path / "softmax_regression (2).ipynb", nb)
    with pytest.raises(
        AmbiguousNotebook,
        match=r"both softmax_regression \(1\)\.ipynb and softmax_regression \(2\)\.ipynb",
    ):
        find_notebook(tmp_path, "softmax_regression.ipynb", RELEASE)


def test_no_candidate_is_missing(tmp_path):
    from autograder.submissions.notebook import find_notebook

    _write(tmp_path / "notes.ipynb", student(cell("x = 1")))
    assert find_notebook(tmp_path, "softmax_regression.ipynb", RELEASE) == (
        tmp_path / "softmax_regression.ipynb",
        [],
    )


# -- the grader's own work on a notebook is bounded before it parses anything (issue 20, item 5) ------
def _write_notebook(path, sources):
    cells = [{"cell_type": "code", "source": s, "metadata": {}, "outputs": []} for s in sources]
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4}))
    return path


def _no_parse(monkeypatch):
    """Make any parse of student code fail the test (the caps are checked before)."""

    def parsed(*args, **kwargs):
        raise AssertionError("the code was parsed before its size was checked")

    monkeypatch.setattr(notebook.ast, "parse", parsed)
    monkeypatch.setattr(notebook, "python_source", parsed)


def test_code_over_the_cap_is_refused_before_it_is_parsed(tmp_path, monkeypatch):
    src = "".join(f"v{i} = {i}\n" for i in range(config.NOTEBOOK_CODE_CHARS // 8))
    path = _write_notebook(tmp_path / "big.ipynb", [src])
    _no_parse(monkeypatch)
    with pytest.raises(notebook.MalformedNotebook) as err:
        notebook.read_notebook(path)
    assert str(path) in str(err.value) and str(config.NOTEBOOK_CODE_CHARS) in str(err.value)


def test_a_notebook_of_too_many_cells_is_refused(tmp_path, monkeypatch):
    path = _write_notebook(tmp_path / "cells.ipynb", ["x = 1"] * (config.NOTEBOOK_CELLS + 1))
    _no_parse(monkeypatch)
    with pytest.raises(notebook.MalformedNotebook, match=str(config.NOTEBOOK_CELLS)):
        notebook.read_notebook(path)


def test_json_of_too_many_items_is_refused_before_json_makes_objects_of_them(tmp_path, monkeypatch):
    path = tmp_path / "lists.ipynb"
    blob = ",".join(["[]"] * (config.NOTEBOOK_JSON_ITEMS // 2 + 1))
    path.write_text('{"cells": [], "nbformat": 4, "metadata": {"x": [' + blob + "]}}")

    def loads(*args, **kwargs):
        raise AssertionError("json.loads ran on a notebook over the item cap")

    monkeypatch.setattr(notebook.json, "loads", loads)
    with pytest.raises(notebook.MalformedNotebook, match=str(config.NOTEBOOK_JSON_ITEMS)):
        notebook.read_notebook(path)


@pytest.mark.parametrize(
    "source", ["x = " + "1+" * 60_000 + "1", "x = " + "-" * 100_000 + "1", "x = a" + ".b" * 20_000]
)
def test_code_nested_too_deeply_is_a_syntax_error_of_the_student_not_a_crash(source):
    ext = notebook.extract({"cells": [{"cell_type": "code", "source": source, "metadata": {}}]},
                           {"cells": []})  # fmt: skip
    assert ext.student_source == "" and "nested too deeply" in ext.warnings[0]


def test_the_assignment_fits_the_caps_with_room_to_spare():
    for path in (ROOT / "release").glob("*/*.ipynb"):
        nb = notebook.read_notebook(path)
        code = sum(len(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
        raw = path.read_bytes()
        assert (
            code * 5 < config.NOTEBOOK_CODE_CHARS and len(nb["cells"]) * 5 < config.NOTEBOOK_CELLS
        )
        assert (
            raw.count(b"[") + raw.count(b"{") + raw.count(b",")
        ) * 100 < config.NOTEBOOK_JSON_ITEMS


# --- what is graded, forbidden, a demo or a setup call is the unit's (#22) -----------------------


def fake_unit(monkeypatch, name="fake_concise", **declared) -> str:
    """Register a throw-away unit `name` whose unit.py declares `declared`
    (tests/helpers/fake_units.py); return its assignment (its name; undone with the test)."""
    return register_unit(monkeypatch, name, **declared).name


CONCISE = (
    "net = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))\n"
    "def init_weights(m):\n"
    "    if type(m) == nn.Linear:\n"
    "        nn.init.normal_(m.weight, std=0.01)\n"
    "net.apply(init_weights);\n"
    "nn.init.normal_(net[1].weight, std=0.01)\n"
    "init.constant_(net[1].bias, val=0)\n"
    "net[1].bias.data.fill_(0)\n"
    "loss = nn.CrossEntropyLoss(reduction='none')\n"
    "trainer = torch.optim.SGD(net.parameters(), lr=0.1)\n"
    "print(net)\n"
    "net.eval()\n"
    "nn.init.normal_(show_images(net))\n"
    "train_ch3(net, train_iter, test_iter, loss, 10, trainer)\n"
)
"""d2l's concise softmax regression: a model built, initialised by setup calls, then demos."""

CONCISE_SETUP = frozenset({"apply", "normal_", "constant_", "fill_"})


def test_setup_calls_of_the_unit_are_kept_and_graded_objects_bound_by_assignment_are_found(monkeypatch):  # fmt: skip
    """A unit declaring SETUP_CALLS keeps ``net.apply(init_weights)`` and the init calls, in order,
    but not other bare calls, nor a setup call that calls a demo; ``net``, ``loss`` and
    ``trainer`` (graded objects, bound by assignment) are found, ``updater`` (never bound) is
    missing. The softmax unit, which declares none, drops every bare call, as before."""
    assignment = fake_unit(
        monkeypatch, GRADED_FUNCTIONS=("net", "loss", "trainer", "updater"),
        SETUP_CALLS=CONCISE_SETUP, DEMO_CALLS=frozenset({"show_images", "train_ch3"}),
    )  # fmt: skip
    ext = extract(student(cell(CONCISE, "net", solution=True)), {"cells": []}, assignment)
    kept = ext.student_source.splitlines()
    setup = [ln for ln in kept if ln.startswith(("net.apply", "nn.init", "init.", "net[1]"))]
    assert setup == [
        "net.apply(init_weights)",
        "nn.init.normal_(net[1].weight, std=0.01)",
        "init.constant_(net[1].bias, val=0)",
        "net[1].bias.data.fill_(0)",
    ]
    assert kept.index("net.apply(init_weights)") > kept.index(next(ln for ln in kept if ln.startswith("net = ")))  # fmt: skip
    for dropped in ("print", "net.eval", "show_images", "train_ch3"):
        assert dropped not in ext.student_source, dropped
    assert set(ext.found) == {"net", "loss", "trainer"} and set(ext.missing) == {"updater"}
    # the same cell in the softmax unit: no setup calls, nothing of it graded
    plain = extract(student(cell(CONCISE)), {"cells": []})
    assert not [ln for ln in plain.student_source.splitlines() if ln.startswith(("net.apply", "nn.init", "init.", "net[1]"))]  # fmt: skip
    assert "net = nn.Sequential" in plain.student_source  # assignments are kept in every unit
    # only in computed mode: a release notebook's setup call is not a definition
    assert definitions("net.apply(init_weights)", computed=False, assignment=assignment)[0] == []


def test_a_graded_object_in_a_cell_that_does_not_parse_is_missing_with_the_syntax_error(monkeypatch):  # fmt: skip
    assignment = fake_unit(monkeypatch, GRADED_FUNCTIONS=("net",))
    ext = extract(student(cell("net = nn.Sequential(\n")), {"cells": []}, assignment)
    assert "syntax error at line" in ext.missing["net"]


def test_forbidden_builtins_and_demo_calls_are_the_units(monkeypatch):
    """torch.mul is forbidden in the tiny unit's double, not in any softmax function; show_double
    is a demo there, an ordinary call in the softmax unit (whose demos are train_ch3's)."""
    assignment = fake_unit(
        monkeypatch, name="fake_double", GRADED_FUNCTIONS=("double",),
        FORBIDDEN_BUILTINS={"double": ("mul",)}, DEMO_CALLS=frozenset({"show_double"}),
    )  # fmt: skip
    src = "def double(x):\n    return torch.mul(x, 2)\nshown = show_double(3)\nrun = train_ch3(1)\n"
    nodes, _ = definitions(src, assignment=assignment)
    assert forbidden_uses(nodes, assignment) == {"double": ["torch.mul"]}
    assert forbidden_uses(nodes, unit=units.get(assignment)) == {"double": ["torch.mul"]}
    assert [notebook.defined_names(n) for n in nodes] == [["double"], ["run"]]
    ext = extract(student(cell(src, "double", solution=True)), {"cells": []}, assignment)
    assert ext.forbidden == {"double": ["torch.mul"]} and set(ext.found) == {"double"}
    softmax_nodes, _ = definitions(src)  # the default: config.ASSIGNMENT's unit
    assert forbidden_uses(softmax_nodes) == {}
    assert [notebook.defined_names(n) for n in softmax_nodes] == [["double"], ["shown"]]


def test_a_cell_graded_by_the_objects_it_defines_is_found_when_all_of_them_are(monkeypatch):
    """A grade_id whose solution cell defines other names (``training``: ``loss`` and ``trainer``)
    is no name itself: found when all of them are bound, missing (with the reason of the first
    one absent) when one is not, or when its cell does not parse."""
    assignment = fake_unit(
        monkeypatch, GRADED_FUNCTIONS=("net", "training"),
        SOLUTION_CELL_FUNCTIONS={"net": ("init_weights", "net"), "training": ("loss", "trainer")},
    )  # fmt: skip
    net = cell("net = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))\ndef init_weights(m):\n    pass\n", "net", solution=True)  # fmt: skip
    release = student(cell("net = None", "net", solution=True), cell("loss = None", "training", solution=True))  # fmt: skip
    both = "loss = nn.CrossEntropyLoss(reduction='none')\ntrainer = torch.optim.SGD(net.parameters(), lr=0.1)\n"  # fmt: skip
    ext = extract(student(net, cell(both, "training", solution=True)), release, assignment)
    assert ext.missing == {} and ext.found["training"] == "cell grade_id=training"
    assert ext.found["net"] == "cell grade_id=net"
    ext = extract(student(net, cell(both.splitlines()[0], "training", solution=True)), release, assignment)  # fmt: skip
    assert set(ext.missing) == {"trainer", "training"} and "trainer" in ext.missing["training"]
    ext = extract(student(net, cell("loss = (\n", "training", solution=True)), release, assignment)  # fmt: skip
    assert "syntax error at line" in ext.missing["training"]
