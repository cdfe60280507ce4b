"""Reading submissions and finding graded code by content: nbgrader grade_id and the syntax tree.

Nothing here runs student code. A submission's graded functions are assembled into one module
source: the release notebook's read-only code (definitions and imports only), then the student's
definitions. Top-level statements (training demos, plots, prints) are dropped.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from . import config

MAX_NOTEBOOK_BYTES = 100 * 1024**2
"""Notebooks larger than this are reported as malformed (clear the outputs and resubmit)."""

FORBIDDEN_BUILTINS = {
    "softmax": ("softmax", "log_softmax", "_softmax", "_log_softmax", "Softmax", "LogSoftmax", "softmin", "Softmin"),
    "cross_entropy": (
        "softmax", "log_softmax", "_softmax", "_log_softmax", "Softmax", "LogSoftmax",
        "cross_entropy", "nll_loss", "CrossEntropyLoss", "NLLLoss", "binary_cross_entropy",
    ),
    "accuracy": (),
    "train_ch3": (),
}  # fmt: skip
"""Names a from-scratch function may not use (as attribute, import or string): what it implements."""


class MalformedNotebook(ValueError):
    """A file that cannot be read as a Jupyter notebook; the message names the file and the problem."""


@dataclass
class Extraction:
    """The graded code of one notebook, ready to define in a worker."""

    release_source: str
    student_source: str
    found: dict[str, str] = field(default_factory=dict)
    """graded function -> where it was found (e.g. "cell grade_id=softmax")."""
    missing: dict[str, str] = field(default_factory=dict)
    """graded function -> why it was not found (student-readable)."""
    forbidden: dict[str, list[str]] = field(default_factory=dict)
    """graded function -> built-ins it uses but must implement itself."""
    warnings: list[str] = field(default_factory=list)


def read_notebook(path: Path) -> dict:
    """Load a notebook as plain JSON (nbformat 4); raise MalformedNotebook naming what is wrong."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as err:
        raise MalformedNotebook(f"{path}: cannot be read ({err.strerror})") from err
    if size == 0:
        raise MalformedNotebook(f"{path}: the file is empty")
    if size > MAX_NOTEBOOK_BYTES:
        raise MalformedNotebook(
            f"{path}: the notebook is {size / 1024**2:.0f} MB, over the "
            f"{MAX_NOTEBOOK_BYTES // 1024**2} MB limit; clear all outputs and save again"
        )
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise MalformedNotebook(
            f"{path}: not UTF-8 text (byte {err.start}); save it from Jupyter again"
        ) from err
    try:
        nb = json.loads(text)
    except json.JSONDecodeError as err:
        hint = " (is this a notebook?)" if not text.lstrip().startswith("{") else ""
        raise MalformedNotebook(
            f"{path}: invalid JSON at line {err.lineno}: {err.msg}{hint}"
        ) from err
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        if isinstance(nb, dict) and "worksheets" in nb:
            raise MalformedNotebook(
                f"{path}: nbformat 3 notebook; open and save it in Jupyter (nbformat 4)"
            )
        raise MalformedNotebook(f"{path}: not a Jupyter notebook (no list of cells)")
    if nb.get("nbformat", 4) < 4:
        raise MalformedNotebook(
            f"{path}: nbformat {nb.get('nbformat')} notebook; save it as nbformat 4"
        )
    for i, cell in enumerate(nb["cells"]):
        if not isinstance(cell, dict) or "cell_type" not in cell:
            raise MalformedNotebook(f"{path}: cell {i} is not a notebook cell")
        src = cell.get("source", "")
        if isinstance(src, list):
            if not all(isinstance(s, str) for s in src):
                raise MalformedNotebook(f"{path}: cell {i} has a non-text source")
            cell["source"] = "".join(src)
        elif not isinstance(src, str):
            raise MalformedNotebook(f"{path}: cell {i} has a non-text source")
    return nb


def nbgrader_meta(cell: dict) -> dict:
    """The cell's nbgrader metadata ({} when there is none or it is not a dict)."""
    meta = cell.get("metadata")
    meta = meta.get("nbgrader") if isinstance(meta, dict) else None
    return meta if isinstance(meta, dict) else {}


def grade_id(cell: dict) -> str | None:
    """The cell's nbgrader grade_id, if any."""
    gid = nbgrader_meta(cell).get("grade_id")
    return gid if isinstance(gid, str) else None


HELP_QUERY = re.compile(r"^[\w.]+\?{1,2}$")
"""IPython's help syntax on a line of its own, e.g. ``torch.sum?``."""


def python_source(src: str) -> str:
    """Cell source with IPython magics, shell escapes and help queries turned into comments."""
    lines = []
    for line in src.splitlines():
        stripped = line.strip()
        magic = stripped.startswith(("%", "!", "?")) or HELP_QUERY.match(stripped)
        lines.append("# " + line if magic else line)
    return "\n".join(lines)


def definitions(src: str) -> tuple[list[ast.stmt], SyntaxError | None]:
    """Top-level statements of `src` that define things: imports, functions, classes, constants.

    Dropped: everything else (calls, loops, training demos, prints). Kept assignments are those of
    literal constants and lambdas (e.g. ``lr = 0.1`` or ``softmax = lambda X: ...``).
    """
    try:
        tree = ast.parse(python_source(src))
    except SyntaxError as err:
        return [], err
    keep = []
    for node in tree.body:
        if isinstance(
            node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
        ):
            keep.append(node)
        elif isinstance(node, ast.Assign) and _is_definition_value(node.value):
            keep.append(node)
    return keep, None


def _is_definition_value(node: ast.expr) -> bool:
    """Literal constants (numbers, strings, tuples of them) and lambdas."""
    if isinstance(node, ast.Lambda):
        return True
    try:
        ast.literal_eval(node)
        return True
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False


def defined_names(node: ast.stmt) -> list[str]:
    """Names a kept top-level statement binds."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, ast.Assign):
        return [t.id for t in node.targets if isinstance(t, ast.Name)] + [
            e.id
            for t in node.targets
            if isinstance(t, ast.Tuple)
            for e in t.elts
            if isinstance(e, ast.Name)
        ]
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return [(a.asname or a.name).split(".")[0] for a in node.names]
    return []


def _release_kinds(release_nb: dict) -> tuple[set[str], set[str]]:
    """(grade_ids of solution cells, grade_ids of read-only cells) in the release notebook."""
    solution, readonly = set(), set()
    for cell in release_nb["cells"]:
        gid, meta = grade_id(cell), nbgrader_meta(cell)
        if gid:
            (solution if meta.get("solution") else readonly).add(gid)
    return solution, readonly


def extract(student_nb: dict, release_nb: dict) -> Extraction:
    """Assemble the graded code of a student notebook (see the module docstring)."""
    solution_ids, readonly_ids = _release_kinds(release_nb)
    release_nodes, protected = [], set()
    for cell in release_nb["cells"]:
        if cell.get("cell_type") != "code" or nbgrader_meta(cell).get("solution"):
            continue
        if nbgrader_meta(cell).get("grade") and not nbgrader_meta(cell).get("solution"):
            continue  # test cells: the grader runs its own checks
        nodes, _ = definitions(cell["source"])
        release_nodes += nodes
        for n in nodes:
            protected.update(defined_names(n))

    graded = set(config.GRADED_FUNCTIONS)
    for names in config.SOLUTION_CELL_FUNCTIONS.values():
        graded.update(names)
    protected -= graded

    result = Extraction(release_source="", student_source="")
    student_nodes: list[ast.stmt] = []
    origin: dict[str, str] = {}
    seen_ids: dict[str, int] = {}
    for index, cell in enumerate(student_nb["cells"]):
        if cell.get("cell_type") != "code":
            continue
        gid = grade_id(cell)
        if gid in readonly_ids:
            continue  # read-only cells come from the release copy
        if gid:
            seen_ids[gid] = seen_ids.get(gid, 0) + 1
        where = f"cell grade_id={gid}" if gid in solution_ids else f"code cell {index + 1}"
        nodes, err = definitions(cell["source"])
        if err is not None:
            result.warnings.append(
                f"{where} has a syntax error (line {err.lineno}: {err.msg}); it was skipped"
            )
            for name in graded:
                if gid == name or f"def {name}(" in cell["source"]:
                    result.missing.setdefault(
                        name, f"{where} has a syntax error at line {err.lineno}: {err.msg}"
                    )
            continue
        for node in nodes:
            names = defined_names(node)
            if any(n in protected for n in names) and not isinstance(
                node, (ast.Import, ast.ImportFrom)
            ):
                result.warnings.append(
                    f"{where} redefines {', '.join(names)}, which the assignment provides; the provided version is used"
                )
                continue
            student_nodes.append(node)
            for n in names:
                origin[n] = where
    for gid, count in seen_ids.items():
        if count > 1:
            result.warnings.append(
                f"grade_id {gid} appears in {count} cells; the last definition is used"
            )

    for name in sorted(graded):
        if name in origin:
            result.found[name] = origin[name]
            result.missing.pop(name, None)
        else:
            result.missing.setdefault(
                name,
                f"no function named {name} was found (looked in its solution cell and in every code cell)",
            )
    result.release_source = ast.unparse(ast.Module(body=release_nodes, type_ignores=[]))
    result.student_source = ast.unparse(ast.Module(body=student_nodes, type_ignores=[]))
    result.forbidden = forbidden_uses(student_nodes)
    return result


def forbidden_uses(nodes: list[ast.stmt]) -> dict[str, list[str]]:
    """For each graded function, the forbidden built-ins used by it or the student helpers it calls."""
    defs = {
        n.name: n
        for n in nodes
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    }
    lambdas = {
        t.id: n
        for n in nodes
        if isinstance(n, ast.Assign)
        for t in n.targets
        if isinstance(t, ast.Name)
    }
    defs.update({k: v for k, v in lambdas.items() if k not in defs})
    imported = {}
    for n in nodes:
        if isinstance(n, ast.ImportFrom):
            for a in n.names:
                imported[a.asname or a.name] = a.name
    out = {}
    for fname, banned in FORBIDDEN_BUILTINS.items():
        if not banned or fname not in defs:
            continue
        hits, todo, done = set(), [fname], set()
        while todo:
            name = todo.pop()
            if name in done or name not in defs:
                continue
            done.add(name)
            for node in ast.walk(defs[name]):
                if isinstance(node, ast.Attribute) and node.attr in banned:
                    hits.add(_dotted(node))
                elif (
                    isinstance(node, ast.Constant)
                    and isinstance(node.value, str)
                    and node.value in banned
                ):
                    hits.add(repr(node.value))
                elif isinstance(node, ast.Name):
                    if imported.get(node.id) in banned:
                        hits.add(f"{imported[node.id]} (imported as {node.id})")
                    elif node.id in defs and node.id != name:
                        todo.append(node.id)
                elif isinstance(node, ast.ImportFrom):
                    hits.update(a.name for a in node.names if a.name in banned)
        if hits:
            out[fname] = sorted(hits)
    return out


def _dotted(node: ast.expr) -> str:
    """'torch.nn.functional.softmax' for an attribute chain (best effort)."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return ".".join(reversed(parts))
