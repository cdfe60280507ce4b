"""Finding graded code by content, and reading broken notebooks (autograder/notebook.py)."""

from __future__ import annotations

import ast
import json

import pytest

from autograder.notebook import (
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
