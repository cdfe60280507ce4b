"""Reading submissions and finding graded code by content: nbgrader grade_id and the syntax tree.

Nothing here runs student code. A submission's graded functions (and graded objects, such as a
model bound by ``net = nn.Sequential(...)``) are assembled into one module source: the release
notebook's read-only code (definitions and imports only), then the student's top-level code as
their kernel would define it (``definitions``): imports, functions, classes and assignments, also
computed ones, and the unit's setup calls (``net.apply(init_weights)``); demos (training runs,
plots, prints, loops) are dropped. What is graded, forbidden, a demo or a setup call is the unit's
(``autograder.units.get(assignment)``). Cells are read as IPython reads them (its own input
transformer). A notebook saved under another name (``<notebook> (1).ipynb``) is found by its
content (``find_notebook``).
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from autograder import config, units
from autograder.i18n import _

MAX_NOTEBOOK_BYTES = 100 * 1024**2
"""Notebooks larger than this are reported as malformed (clear the outputs and resubmit)."""


class AmbiguousNotebook(ValueError):
    """Two files in a submission folder could both be the same notebook of the assignment."""


class MalformedNotebook(ValueError):
    """A file that cannot be read as a Jupyter notebook; the message names the file and the problem."""


@dataclass
class Extraction:
    """The graded code of one notebook, ready to define in a worker."""

    release_source: str
    student_source: str
    found: dict[str, str] = field(default_factory=dict)
    """graded function -> where it was found (e.g. "cell grade_id=<function>")."""
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
    items = raw.count(b"[") + raw.count(b"{") + raw.count(b",")
    if items > config.NOTEBOOK_JSON_ITEMS:
        raise MalformedNotebook(
            f"{path}: the notebook holds {items} JSON items ([, {{ and ,), over the limit of "
            f"{config.NOTEBOOK_JSON_ITEMS}; clear all outputs and save again"
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise MalformedNotebook(
            f"{path}: not UTF-8 text (byte {err.start}); save it from Jupyter again"
        ) from err
    del raw  # the text alone from here: the peak is the text and what json makes of it
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
    if len(nb["cells"]) > config.NOTEBOOK_CELLS:
        raise MalformedNotebook(
            f"{path}: the notebook has {len(nb['cells'])} cells, over the limit of "
            f"{config.NOTEBOOK_CELLS}; remove the cells that are not part of the assignment"
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
    code = sum(len(c["source"]) for c in nb["cells"] if c.get("cell_type") == "code")
    if code > config.NOTEBOOK_CODE_CHARS:
        raise MalformedNotebook(
            f"{path}: its code cells hold {code} characters, over the limit of "
            f"{config.NOTEBOOK_CODE_CHARS} (the assignment needs about 15,000); remove the code "
            "that is not part of it and save again"
        )
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


CELL_MAGICS_RUNNING_PYTHON = ("time", "capture", "prun")
"""Cell magics whose body IPython runs as Python in the user's namespace (so its names exist)."""

CELL_MAGIC = re.compile(r"\A(?:[ \t]*\n)*%%(\w+)[^\n]*(?:\n|\Z)")

DEMO_MODULES = frozenset({"plt", "pyplot", "IPython", "display"})
"""Modules whose calls (``plt.figure()``, ...) make a top-level assignment a demo."""


def python_source(src: str) -> str:
    """Cell source as IPython runs it: magics, shell escapes and help queries become Python calls.

    IPython's own input transformer decides, so a line starting with ``%`` or ``!=`` inside an open
    bracket stays Python, as in Jupyter. A cell magic whose body is Python in the user's namespace
    (``%%time``, ``%%capture``, ``%%prun``) gives its body; any other cell magic (``%%bash``,
    ``%%writefile``) gives no code.
    """
    from IPython.core.inputtransformer2 import TransformerManager

    magic = CELL_MAGIC.match(src)
    if magic is not None:
        if magic.group(1) in CELL_MAGICS_RUNNING_PYTHON:
            return python_source(src[magic.end() :])
        return ""
    try:
        return TransformerManager().transform_cell(src)
    except Exception:  # noqa: BLE001 - what IPython cannot transform, it runs as it is
        return src


@dataclass(frozen=True)
class _Rules:
    """What a unit makes of a top-level statement: calls that make it a demo, calls that set up."""

    demo: frozenset[str]
    setup: frozenset[str]

    @classmethod
    def of(cls, unit: units.Unit) -> _Rules:
        return cls(unit.demo_calls, unit.setup_calls)


def unit_for(assignment: str | None = None, unit: units.Unit | None = None) -> units.Unit:
    """`unit` when given, else the unit of `assignment` (default config.ASSIGNMENT's)."""
    return unit if unit is not None else units.get(assignment)


def definitions(
    src: str,
    computed: bool = True,
    assignment: str | None = config.ASSIGNMENT,
    *,
    unit: units.Unit | None = None,
) -> tuple[list[ast.stmt], SyntaxError | None]:
    """Top-level statements of `src` that define things, as the student's kernel would run them.

    Kept: imports, functions, classes, assignments (``TINY = torch.finfo(torch.float64).tiny``,
    aliases, helpers, ``net = nn.Sequential(...)``), the setup calls of the unit (`unit`, else
    `assignment`'s: a bare
    call whose callee's last name is in its SETUP_CALLS: ``net.apply(init_weights)``), and
    ``if``/``try`` blocks made only of such statements. Dropped: everything else (other bare calls,
    prints, plots, loops, ``with`` blocks) and assignments and setup calls that call a demo (the
    unit's demo_calls, DEMO_MODULES: ``history = <training>(...)``, ``fig = plt.figure()``).
    With ``computed=False`` (the release notebook) only literal constants and lambdas are kept.
    """
    try:
        tree = ast.parse(python_source(src))
    except SyntaxError as err:
        return [], err
    except (RecursionError, MemoryError):
        return [], SyntaxError(_("the code is nested too deeply to read"), ("<cell>", 1, 0, ""))
    rules = _Rules.of(unit_for(assignment, unit))
    return [node for node in tree.body if _is_definition(node, computed, rules)], None


def _is_definition(node: ast.stmt, computed: bool, rules: _Rules) -> bool:
    """Whether a top-level statement is kept by ``definitions``."""
    if isinstance(
        node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    ):
        return True
    if isinstance(node, ast.Assign) and _is_definition_value(node.value):
        return True
    if not computed:
        return False
    if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
        return node.value is None or not _calls_demo(node.value, rules)
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        return _callee(node.value) in rules.setup and not _calls_demo(node.value, rules)
    if isinstance(node, ast.If):
        return not _calls_demo(node.test, rules) and all(
            _is_definition(n, computed, rules) for n in node.body + node.orelse
        )
    if isinstance(node, ast.Try):
        blocks = node.body + node.orelse + node.finalbody
        blocks += [n for handler in node.handlers for n in handler.body]
        return all(_is_definition(n, computed, rules) or isinstance(n, ast.Pass) for n in blocks)
    return False


def _callee(call: ast.Call) -> str | None:
    """The last name of what a call calls: ``apply`` for ``net.apply(f)``, ``f`` for ``f(x)``."""
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else None


def _calls_demo(node: ast.AST, rules: _Rules) -> bool:
    """Whether an expression calls a demo function (outside the lambdas it defines)."""
    for sub in ast.walk(node):
        if not isinstance(sub, ast.Call):
            continue
        func = sub.func
        if isinstance(func, ast.Name) and func.id in rules.demo:
            return True
        if isinstance(func, ast.Attribute):
            dotted = _dotted(func).split(".")
            if dotted[-1] in rules.demo or DEMO_MODULES & set(dotted[:-1]):
                return True
    return False


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
    if isinstance(node, (ast.AugAssign, ast.AnnAssign)) and isinstance(node.target, ast.Name):
        return [node.target.id]
    if isinstance(node, (ast.If, ast.Try)):
        inner = node.body + node.orelse + getattr(node, "finalbody", [])
        inner += [n for handler in getattr(node, "handlers", []) for n in handler.body]
        return [name for n in inner for name in defined_names(n)]
    return []


def _release_kinds(release_nb: dict) -> tuple[set[str], set[str]]:
    """(grade_ids of solution cells, grade_ids of read-only cells) in the release notebook."""
    solution, readonly = set(), set()
    for cell in release_nb["cells"]:
        gid, meta = grade_id(cell), nbgrader_meta(cell)
        if gid:
            (solution if meta.get("solution") else readonly).add(gid)
    return solution, readonly


def extract(
    student_nb: dict,
    release_nb: dict,
    assignment: str = config.ASSIGNMENT,
    *,
    unit: units.Unit | None = None,
) -> Extraction:
    """Assemble the graded code of a student notebook of `assignment` (see the module docstring):
    its unit's (`unit`, else `assignment`'s) graded functions or objects and the forbidden
    built-ins they use."""
    unit = unit_for(assignment, unit)
    solution_ids, readonly_ids = _release_kinds(release_nb)
    release_nodes, protected = [], set()
    for cell in release_nb["cells"]:
        if cell.get("cell_type") != "code" or nbgrader_meta(cell).get("solution"):
            continue
        if nbgrader_meta(cell).get("grade") and not nbgrader_meta(cell).get("solution"):
            continue  # test cells: the grader runs its own checks
        nodes, _error = definitions(cell["source"], computed=False, unit=unit)
        release_nodes += nodes
        for n in nodes:
            protected.update(defined_names(n))

    cells = cell_only(unit)
    graded = set(unit.graded_functions) - set(cells)
    for names in unit.solution_cell_functions.values():
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
        if gid in solution_ids:
            where = _("cell grade_id={grade_id}").format(grade_id=gid)
        else:
            where = _("code cell {number}").format(number=index + 1)
        nodes, err = definitions(cell["source"], unit=unit)
        if err is not None:
            result.warnings.append(
                _("{where} has a syntax error (line {line}: {error}); it was skipped").format(
                    where=where, line=err.lineno, error=err.msg
                )
            )
            for name in graded:
                if gid == name or name in cells.get(gid, ()) or _binds(cell["source"], name):
                    result.missing.setdefault(
                        name,
                        _("{where} has a syntax error at line {line}: {error}").format(
                            where=where, line=err.lineno, error=err.msg
                        ),
                    )
            continue
        for node in nodes:
            names = defined_names(node)
            if any(n in protected for n in names) and not isinstance(
                node, (ast.Import, ast.ImportFrom)
            ):
                result.warnings.append(
                    _("{where} redefines {names}, which the assignment provides; the provided version is used").format(
                        where=where, names=", ".join(names)
                    )
                )  # fmt: skip
                continue
            student_nodes.append(node)
            for n in names:
                origin[n] = where
    for gid, count in seen_ids.items():
        if count > 1:
            result.warnings.append(
                _(
                    "grade_id {grade_id} appears in {count} cells; the last definition is used"
                ).format(grade_id=gid, count=count)
            )

    for name in sorted(graded):
        if name in origin:
            result.found[name] = origin[name]
            result.missing.pop(name, None)
        else:
            result.missing.setdefault(
                name,
                _("no function named {function} was found (looked in its solution cell and in every code cell)").format(
                    function=name
                ),
            )  # fmt: skip
    for gid, names in cells.items():  # a cell graded by what it defines: missing if one of them is
        absent = [n for n in names if n in result.missing]
        if absent:
            result.missing[gid] = result.missing[absent[0]]
        else:
            result.found[gid] = result.found[names[-1]]
    try:
        result.release_source = ast.unparse(ast.Module(body=release_nodes, type_ignores=[]))
        result.student_source = ast.unparse(ast.Module(body=student_nodes, type_ignores=[]))
    except (RecursionError, MemoryError) as err:
        raise MalformedNotebook(_("the code is nested too deeply to read")) from err
    result.forbidden = forbidden_uses(student_nodes, unit=unit)
    return result


def cell_only(unit: units.Unit) -> dict[str, tuple[str, ...]]:
    """Graded grade_ids that name a cell, not a name it binds: grade_id -> the names its solution
    cell defines (SOLUTION_CELL_FUNCTIONS entries without the grade_id itself, e.g. a `training`
    cell defining `loss` and `trainer`). Such a grade_id is found when all of them are."""
    return {
        gid: tuple(names)
        for gid, names in unit.solution_cell_functions.items()
        if gid in unit.graded_functions and names and gid not in names
    }


def _binds(source: str, name: str) -> bool:
    """Whether cell text (one that does not parse) looks like it defines or binds `name` at top level."""
    return (
        f"def {name}(" in source
        or re.search(rf"^{re.escape(name)}\s*(:[^=]*)?=(?!=)", source, re.M) is not None
    )


def forbidden_uses(
    nodes: list[ast.stmt], assignment: str = config.ASSIGNMENT, *, unit: units.Unit | None = None
) -> dict[str, list[str]]:
    """For each graded function of the unit (`unit`, else `assignment`'s), the forbidden built-ins (its
    forbidden_builtins) used by it or the student helpers it calls."""
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
    for fname, banned in unit_for(assignment, unit).forbidden_builtins.items():
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
    """'torch.nn.functional.relu' for an attribute chain (best effort)."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return ".".join(reversed(parts))


def _code_cells(path: Path) -> list[dict] | None:
    """The code cells of a notebook file, None when it cannot be read."""
    try:
        return [c for c in read_notebook(path)["cells"] if c.get("cell_type") == "code"]
    except MalformedNotebook:
        return None


def find_notebook(folder: Path, name: str, release_nb: dict, taken=()) -> tuple[Path, list[str]]:
    """(the notebook `name` of a submission folder, warnings): the file itself when it exists,
    else the one other ``*.ipynb`` (not in `taken`) holding the release's solution grade_ids, else
    the one defining its graded functions. Raises AmbiguousNotebook naming both when two match;
    returns ``folder / name`` (missing) when none does.
    """
    folder = Path(folder)
    exact = folder / name
    if exact.exists() or not folder.is_dir():
        return exact, []
    wanted_ids = {grade_id(c) for c in release_nb["cells"] if nbgrader_meta(c).get("solution")}
    wanted_ids.discard(None)
    wanted_defs = {
        n.name
        for c in release_nb["cells"]
        if nbgrader_meta(c).get("solution") and c.get("cell_type") == "code"
        for n in (definitions(c["source"], computed=False)[0])
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
    }
    by_ids, by_defs = [], []
    for path in sorted(folder.glob("*.ipynb")):
        if path.name in taken or path.name.startswith("."):
            continue
        cells = _code_cells(path)
        if not cells:
            continue
        if wanted_ids & {grade_id(c) for c in cells}:
            by_ids.append(path)
        elif wanted_defs and any(
            re.search(rf"^\s*def {re.escape(f)}\(", c["source"], re.M)
            for c in cells
            for f in wanted_defs
        ):
            by_defs.append(path)
    matches = by_ids or by_defs
    if len(matches) > 1:
        raise AmbiguousNotebook(
            f"{name} was not found in {folder}, and both {matches[0].name} and {matches[1].name} "
            f"could be it; keep only one of them, named {name}"
        )
    if matches:
        how = "its nbgrader cells" if by_ids else "the functions it defines"
        return matches[0], [
            f"{name} was not found; {matches[0].name} was graded as {name} (recognised by {how}); "
            f"hand in the notebook under its original name {name}"
        ]
    return exact, []
