"""The static gate: student code may not name what reaches the grader's harness or the interpreter's insides.

The harness that calls student functions lives in the same interpreter (the worker), so anything
student code can reach could decide what the grader is sent. This module reads the code that
would run (nothing here runs it) and returns every place that names a way in: the grader's own
modules, ``sys.modules``, frames and tracebacks, ``gc``, ``ctypes``, pickle, ``eval``/``exec``,
names starting with ``_`` (torch's C core, a module's or object's private state), attribute names
computed at run time, and replacing attributes of imported modules. A submission with a
violation is not run at all (grading/grader.py); each violation names its line, its code and the
rule, with a hint. It is machinery: it knows no assignment's functions. The kernel, not this
gate, refuses files, processes and sockets (sandbox/). The worker's audit hook
(sandbox/audit.py) stands behind it at run time.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from autograder.i18n import N_, _

ALLOWED_DUNDERS = frozenset({
    "__init__", "__name__", "__qualname__", "__class__", "__len__", "__getitem__", "__setitem__",
    "__contains__", "__call__", "__iter__", "__next__", "__repr__", "__str__", "__enter__",
    "__exit__", "__version__", "__doc__", "__add__", "__sub__", "__mul__", "__truediv__",
    "__matmul__", "__neg__", "__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__",
    "__hash__", "__bool__", "__float__", "__int__", "__array__", "__module__",
})  # fmt: skip
"""Dunder attributes that give nothing beyond the object's public behaviour (no globals, code,
subclasses or instance dictionary)."""

INTERNALS = frozenset({
    "tb_frame", "tb_next", "tb_lasti", "f_back", "f_globals", "f_locals", "f_builtins", "f_code",
    "f_trace", "gi_frame", "gi_code", "cr_frame", "cr_code", "ag_frame", "ag_code",
    "cell_contents", "func_globals", "exc_info", "settrace", "setprofile", "gettrace",
    "getprofile", "CodeType", "FunctionType", "attrgetter", "methodcaller", "get_field",
    "get_type_hints", "sympify", "TorchFunctionMode", "TorchDispatchMode",
})  # fmt: skip
"""Attribute names of frames, tracebacks, code and cells, and of library functions that read any
attribute by a computed name or evaluate a string (``co_*`` names too)."""

MODULE_ATTRIBUTES = frozenset({
    "sys", "gc", "ctypes", "ctypeslib", "inspect", "importlib", "builtins", "pickle", "marshal",
    "copyreg", "shelve", "dill", "cloudpickle", "code", "codeop", "runpy", "pkgutil", "timeit",
    "pdb", "bdb", "doctest", "cProfile", "profile", "pydoc", "overrides", "library",
})  # fmt: skip
"""Attributes named after a module that reaches the interpreter (``torch.sys``, ``os.sys``...) or
lets code replace torch's operators (``torch.library``, ``torch.overrides``)."""

BLOCKED_MODULES = frozenset({
    "autograder", "gc", "ctypes", "inspect", "importlib", "builtins", "pickle", "copyreg",
    "marshal", "shelve", "dill", "cloudpickle", "code", "codeop", "runpy", "pkgutil", "timeit",
    "pdb", "bdb", "doctest", "cProfile", "profile", "trace", "pydoc", "sympy", "unittest",
    "logging.config", "torch.library", "torch.overrides", "torch.package", "types",
})  # fmt: skip
"""Modules (and their submodules) student code may not import."""

SYS_ALLOWED = frozenset({
    "path", "stdout", "stderr", "stdin", "version", "version_info", "platform", "maxsize",
    "float_info", "int_info", "exit", "getsizeof", "getrecursionlimit", "setrecursionlimit",
    "byteorder", "argv", "hexversion", "float_repr_style",
})  # fmt: skip
"""What student code may read from ``sys`` (``sys.modules`` holds the grader's modules)."""

BLOCKED_NAMES = frozenset({
    "eval", "exec", "compile", "globals", "locals", "vars", "breakpoint", "__import__",
    "__builtins__", "__loader__", "__spec__",
})  # fmt: skip
"""Built-in names that run text as code or hand out a namespace."""

ALLOWED_DUNDER_NAMES = frozenset({"__name__", "__file__", "__doc__"})

ATTRIBUTE_FUNCTIONS = ("getattr", "setattr", "delattr")

CONFIG_MAPPINGS = frozenset({"rcParams"})
"""Library settings a key may be stored into (d2l's ``set_figsize``: ``plt.rcParams[key] = v``);
``rcParams.update(...)`` and ``matplotlib.use(...)``, plain calls, already change them."""

READABLE_CODE_ATTRIBUTES = frozenset({"co_varnames"})
"""What may be read through ``f.__code__`` (Dive-into-DL-PyTorch's evaluate_accuracy asks
``'is_training' in net.__code__.co_varnames``): a tuple of names, no constants, globals or code."""

RULES = {
    "import": (
        N_("imports {name}, which reaches the grader or the interpreter's insides"),
        N_("remove this import; the assignment needs only torch (and numpy, math, matplotlib)"),
    ),
    "private": (
        N_("uses {name}, a name starting with an underscore (private state of torch or of the grader)"),
        N_("use the public name (for example torch.exp, not torch._C), or write the maths out yourself"),
    ),
    "internals": (
        N_("uses {name}, which reaches frames, code objects or attributes by computed names"),
        N_("remove it; graded functions only compute with tensors"),
    ),
    "module": (
        N_("uses the attribute {name}, which reaches a module the grader keeps out of reach"),
        N_("remove it; graded functions only compute with tensors"),
    ),
    "sys": (
        N_("uses sys.{name}; only sys.path, sys.stdout, sys.stderr, sys.version and similar are allowed"),
        N_("remove it, or use one of the allowed parts of sys"),
    ),
    "builtin": (
        N_("uses {name}, which runs text as code or hands out a namespace"),
        N_("write the code itself instead of building it at run time"),
    ),
    "getattr": (
        N_("uses {name} with a computed or private attribute name, or passes it as a value"),
        N_("write the attribute itself (obj.name), or getattr(obj, 'name') with a plain public name"),
    ),
    "patch": (
        N_("replaces an attribute of {name}, a module or class it imports (monkeypatching)"),
        N_("define your own function or variable instead of changing a library's"),
    ),
}  # fmt: skip
"""rule -> (why, hint): the msgids of each rule's explanation."""


@dataclass(frozen=True)
class Violation:
    """One place in the student's code that the gate refuses."""

    line: int
    code: str
    rule: str
    name: str
    where: str = ""
    """Which cell (filled in by scan_cells), e.g. "cell grade_id=<function>"."""

    def message(self) -> str:
        """The student's explanation: where, the code, why, and what to do instead."""
        why, hint = RULES[self.rule]
        text = _("{where}, line {line}: `{code}`: {why}").format(
            where=self.where or _("your code"), line=self.line, code=self.code,
            why=_(why).format(name=self.name),
        )  # fmt: skip
        return text + "\n" + _("Hint: {hint}").format(hint=_(hint))


def _dotted(node: ast.AST) -> str | None:
    """'a.b.c' for a chain of attributes on a name, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id, *reversed(parts)])


def _root(node: ast.AST) -> ast.AST:
    """The innermost value of a chain of attributes and subscripts."""
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node


def blocked_module(name: str) -> bool:
    """Whether importing module `name` is refused (blocked, or a private part such as torch._C)."""
    parts = name.split(".")
    if any(p.startswith("_") for p in parts):
        return True
    return any(name == m or name.startswith(m + ".") for m in BLOCKED_MODULES)


def _attribute_rule(attr: str) -> str | None:
    """The rule an attribute name breaks, or None."""
    if attr.startswith("_") and attr not in ALLOWED_DUNDERS:
        return "private"
    if attr in INTERNALS or attr.startswith("co_"):
        return "internals"
    if attr in MODULE_ATTRIBUTES:
        return "module"
    return None


class _Scanner(ast.NodeVisitor):
    """Collects the violations of one module's statements."""

    def __init__(self, lines: list[str]):
        self.lines, self.found = lines, []
        self.sys_names: set[str] = set()
        self.imported: set[str] = set()
        self.attribute_calls: set[int] = set()

    def flag(self, node, rule, name):
        line = getattr(node, "lineno", 0)
        text = self.lines[line - 1].strip() if 0 < line <= len(self.lines) else ""
        if len(text) > 120:
            text = text[:117] + "..."
        self.found.append(Violation(line, text, rule, name))

    def visit_Import(self, node):
        for alias in node.names:
            if alias.name.split(".")[0] != "sys" and blocked_module(alias.name):
                self.flag(node, "import", alias.name)
        self.generic_visit(node)

    def visit_ImportFrom(self, node):
        module = "." * node.level + (node.module or "")
        if node.level or blocked_module(module):
            self.flag(node, "import", module)
        for alias in node.names:
            if module == "sys":
                if alias.name not in SYS_ALLOWED:
                    self.flag(node, "sys", alias.name)
            elif blocked_module(f"{module}.{alias.name}") and not node.level:
                if not blocked_module(module):
                    self.flag(node, "import", f"{module}.{alias.name}")
            elif alias.name == "sys" or _attribute_rule(alias.name):
                self.flag(node, _attribute_rule(alias.name) or "module", alias.name)
        self.generic_visit(node)

    def visit_Attribute(self, node):
        if _reads_code_names(node):
            self.visit(node.value.value)  # f.__code__.co_varnames: only f is judged
            return
        rule = _attribute_rule(node.attr)
        if rule is not None:
            self.flag(node, rule, node.attr)
        self.generic_visit(node)

    def visit_Name(self, node):
        if node.id in self.sys_names:
            return  # judged by visit_Attribute's caller (sys attributes) in _sys_uses
        dunder = node.id.startswith("__") and node.id.endswith("__")
        if node.id in BLOCKED_NAMES or (  # a class body may define __hash__, __slots__...
            dunder and node.id not in ALLOWED_DUNDER_NAMES and isinstance(node.ctx, ast.Load)
        ):
            self.flag(node, "builtin", node.id)
        elif node.id in ATTRIBUTE_FUNCTIONS and id(node) not in self.attribute_calls:
            self.flag(node, "getattr", node.id)

    def visit_Call(self, node):
        func = node.func
        if isinstance(func, ast.Name) and func.id in ATTRIBUTE_FUNCTIONS:
            self.attribute_calls.add(id(func))
            name = node.args[1] if len(node.args) >= 2 else None
            if (
                not isinstance(name, ast.Constant)
                or not isinstance(name.value, str)
                or node.keywords
                or any(isinstance(a, ast.Starred) for a in node.args)
                or _attribute_rule(name.value) is not None
            ):
                self.flag(node, "getattr", func.id)
        self.generic_visit(node)


def _reads_code_names(node: ast.Attribute) -> bool:
    """Whether `node` reads ``<expr>.__code__.<READABLE_CODE_ATTRIBUTES>`` (not a store)."""
    inner = node.value
    return (
        node.attr in READABLE_CODE_ATTRIBUTES
        and isinstance(node.ctx, ast.Load)
        and isinstance(inner, ast.Attribute)
        and inner.attr == "__code__"
    )


def _config_store(target: ast.AST) -> bool:
    """Whether a store target is ``<chain>.rcParams[key]`` (a setting, not a module's attribute)."""
    return (
        isinstance(target, ast.Subscript)
        and isinstance(target.value, ast.Attribute)
        and target.value.attr in CONFIG_MAPPINGS
        and _dotted(target.value) is not None
    )


def _sys_uses(tree: ast.AST, scanner: _Scanner) -> None:
    """Flag every use of a name bound to ``sys`` other than ``sys.<allowed>``."""
    if not scanner.sys_names:
        return
    allowed = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.value.id in scanner.sys_names:
                allowed.add(id(node.value))
                if node.attr not in SYS_ALLOWED:
                    scanner.flag(node, "sys", node.attr)
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in scanner.sys_names and id(node) not in allowed:
            scanner.flag(node, "sys", node.id)


def _module_aliases(tree: ast.AST) -> set[str]:
    """Names bound to an imported module, to something read from one, or to ``type(...)``."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    assigns = [
        n for n in ast.walk(tree) if isinstance(n, (ast.Assign, ast.AnnAssign, ast.NamedExpr))
    ]
    changed = True
    while changed:
        changed = False
        for node in assigns:
            if node.value is None or not _from_module(node.value, names):
                continue
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for name in ast.walk(target):
                    if isinstance(name, ast.Name) and name.id not in names:
                        names.add(name.id)
                        changed = True
    return names


def _from_module(value: ast.AST, names: set[str]) -> bool:
    """Whether `value` is a module-derived name, an attribute chain on one, or ``type(...)``."""
    if isinstance(value, ast.Call):
        return isinstance(value.func, ast.Name) and value.func.id == "type"
    root = _root(value)
    return isinstance(root, ast.Name) and root.id in names


def _patches(tree: ast.AST, scanner: _Scanner) -> None:
    """Flag stores into attributes of imported modules, of what is read from them, or of a type."""
    names = _module_aliases(tree)
    for node in ast.walk(tree):
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        elif isinstance(node, ast.Delete):
            targets = node.targets
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("setattr", "delattr")
            and node.args
        ):
            targets = [
                ast.Attribute(value=node.args[0], attr="", ctx=ast.Store(), lineno=node.lineno)
            ]
        for target in targets:
            if _config_store(target):
                continue
            for sub in _stored_through(target):
                if not isinstance(sub, (ast.Attribute, ast.Subscript)):
                    continue
                root = _root(sub)
                through_class = any(
                    isinstance(a, ast.Attribute) and a.attr == "__class__"
                    for a in _stored_through(sub)
                )
                if through_class or _from_module(root, names):
                    label = root.id if isinstance(root, ast.Name) else "type(...)"
                    scanner.flag(node, "patch", label)
                    break


def _stored_through(target: ast.AST):
    """Every node of a store target but the indices of its subscripts: ``G[torch.arange(n), y] -= 1``
    stores into G, whatever its index reads, while ``f(torch.nn).softmax = g`` and
    ``torch.nn.__dict__["softmax"] = g`` store through torch."""
    yield target
    for field, value in ast.iter_fields(target):
        if isinstance(target, ast.Subscript) and field == "slice":
            continue
        for child in value if isinstance(value, list) else [value]:
            if isinstance(child, ast.AST):
                yield from _stored_through(child)


def scan(source: str) -> list[Violation]:
    """Every violation in `source` (Python code), in line order; [] for code the gate accepts."""
    tree = ast.parse(source)
    return scan_tree(tree, source)


def scan_tree(tree: ast.AST, source: str) -> list[Violation]:
    """Every violation in the parsed module `tree` of `source`, in line order, one per line and rule."""
    scanner = _Scanner(source.splitlines())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            scanner.sys_names.update(
                a.asname or "sys" for a in node.names if a.name.split(".")[0] == "sys"
            )
    _sys_uses(tree, scanner)
    scanner.visit(tree)
    _patches(tree, scanner)
    seen, out = set(), []
    for v in sorted(scanner.found, key=lambda v: (v.line, v.rule)):
        if (v.line, v.rule) not in seen:
            seen.add((v.line, v.rule))
            out.append(v)
    return out


def scan_cells(cells: list[tuple[str, str, list[ast.stmt]]]) -> list[Violation]:
    """Violations of each (where, cell source, kept statements) in order, labelled with `where`."""
    out = []
    for where, source, nodes in cells:
        module = ast.Module(body=list(nodes), type_ignores=[])
        out += [Violation(v.line, v.code, v.rule, v.name, where) for v in scan_tree(module, source)]
    return out


def is_stub(node: ast.stmt) -> bool:
    """Whether a definition only raises NotImplementedError (a docstring and ``pass`` allowed)."""
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) or node.decorator_list:
        return False
    body = [
        s for s in node.body
        if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant)) and not isinstance(s, ast.Pass)
    ]  # fmt: skip
    if len(body) != 1 or not isinstance(body[0], ast.Raise) or body[0].cause is not None:
        return False
    exc = body[0].exc
    if isinstance(exc, ast.Call) and not exc.keywords:
        exc = exc.func
    return isinstance(exc, ast.Name) and exc.id == "NotImplementedError"


def unimplemented(source: str, names) -> list[str]:
    """Those of `names` whose last top-level binding in `source` is a stub (is_stub), in order."""
    last: dict[str, ast.stmt] = {}
    for node in ast.parse(source).body:
        for name in _bound_names(node):
            last[name] = node
    return [n for n in names if n in last and is_stub(last[n])]


def _bound_names(node: ast.stmt) -> list[str]:
    """Names a top-level statement may bind (any Name stored anywhere in it, or a definition)."""
    names = []
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and isinstance(sub.ctx, (ast.Store, ast.Del)):
            names.append(sub.id)
        elif isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(sub.name)
        elif isinstance(sub, ast.alias):
            names.append((sub.asname or sub.name).split(".")[0])
    return names


def scan_notebook(
    student_nb: dict, release_nb: dict, assignment: str | None = None, *, unit=None
) -> list[Violation]:
    """Violations in the code of `student_nb` that the grader would define (notebook.extract's cells:
    every code cell but the release's read-only ones, only the statements it keeps for the unit,
    `unit` or else `assignment`'s, default config.ASSIGNMENT's: its setup calls too)."""
    from autograder.submissions import notebook

    readonly = {
        notebook.grade_id(c) for c in release_nb["cells"]
        if notebook.grade_id(c) and not notebook.nbgrader_meta(c).get("solution")
    }  # fmt: skip
    cells = []
    for index, cell in enumerate(student_nb["cells"]):
        gid = notebook.grade_id(cell)
        if cell.get("cell_type") != "code" or gid in readonly:
            continue
        nodes, err = notebook.definitions(cell["source"], assignment=assignment, unit=unit)
        if err is not None or not nodes:
            continue
        where = (
            _("cell grade_id={grade_id}").format(grade_id=gid) if gid
            else _("code cell {number}").format(number=index + 1)
        )  # fmt: skip
        cells.append((where, notebook.python_source(cell["source"]), nodes))
    return scan_cells(cells)


MAX_LISTED = 8
"""Most violations one message lists (the rest are counted)."""


def refusal(violations: list[Violation]) -> str:
    """The message every check of a refused submission carries: what to change, line by line."""
    lines = [
        _(
            "Your code was not run: it names something that reaches into the grader or the "
            "Python interpreter, which graded code may not do. Change these lines and submit again:"
        )
    ]
    lines += [v.message() for v in violations[:MAX_LISTED]]
    if len(violations) > MAX_LISTED:
        lines.append(_("... and {count} more").format(count=len(violations) - MAX_LISTED))
    return "\n".join(lines)
