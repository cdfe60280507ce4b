"""The test suite's layout: shared helpers come from tests/helpers/, never from another test module.

Every module under tests/ (outside tests/files/, whose corpora are student-like code) is read as
an AST: it may not import a ``test_*`` module or ``conftest`` (fixtures come from conftest.py, the
rest from ``helpers``), may not change ``sys.path`` (``helpers.loading.load_module`` loads a file
by its path), and may not re-derive the repository's folders from ``Path(__file__)``
(``helpers.paths`` holds them). Code inside strings (scripts run in a child process, student
code) is not looked at.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from helpers.paths import FILES, ROOT, TESTS

DERIVES_PATHS = {"tests/helpers/paths.py": "the one place that derives the course's folders"}
"""Modules allowed to take a folder from Path(__file__).parent(s), with the reason."""

SYS_PATH_EDITS = {"insert", "append", "extend", "remove", "pop", "clear", "__setitem__"}


def _is_path_of_file(node: ast.AST) -> bool:
    """`Path(__file__)` or `pathlib.Path(__file__)`, possibly `.resolve()`d or `.absolute()`d."""
    while (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("resolve", "absolute")
    ):
        node = node.func.value
    if not (isinstance(node, ast.Call) and len(node.args) == 1):
        return False
    func, arg = node.func, node.args[0]
    named_path = (isinstance(func, ast.Name) and func.id == "Path") or (
        isinstance(func, ast.Attribute) and func.attr == "Path"
    )
    return named_path and isinstance(arg, ast.Name) and arg.id == "__file__"


def _is_sys_path(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "path"
        and isinstance(node.value, ast.Name)
        and node.value.id == "sys"
    )


def _is_test_module(name: str | None) -> bool:
    top = (name or "").split(".")[0]
    return top == "conftest" or top.startswith("test_")


def layout_problems(source: str, rel: str) -> list[str]:
    """What the module `rel` (a path relative to the repository) does against the layout."""
    problems = []
    for node in ast.walk(ast.parse(source, rel)):
        where = f"{rel}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Import):
            problems += [
                f"{where}: imports {a.name} (a test module or conftest; move what it shares to helpers/)"
                for a in node.names
                if _is_test_module(a.name)
            ]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and _is_test_module(node.module):
                problems.append(
                    f"{where}: imports from {node.module} (a test module or conftest; move what it shares to helpers/)"
                )
            if (
                node.level == 0
                and node.module == "sys"
                and any(a.name == "path" for a in node.names)
            ):
                problems.append(f"{where}: imports sys.path (no sys.path edits: helpers.loading)")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in SYS_PATH_EDITS and _is_sys_path(node.func.value):
                problems.append(
                    f"{where}: sys.path.{node.func.attr} (no sys.path edits: helpers.loading.load_module)"
                )
            elif node.func.attr in ("syspath_prepend", "addsitedir"):
                problems.append(
                    f"{where}: {node.func.attr} (no sys.path edits: helpers.loading.load_module)"
                )
        elif isinstance(node, ast.Assign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if _is_sys_path(target) or (
                    isinstance(target, ast.Subscript) and _is_sys_path(target.value)
                ):
                    problems.append(f"{where}: assigns sys.path (no sys.path edits)")
        elif (
            isinstance(node, ast.Attribute)
            and node.attr in ("parent", "parents")
            and _is_path_of_file(node.value)
            and rel not in DERIVES_PATHS
        ):
            problems.append(
                f"{where}: Path(__file__).{node.attr} re-derives a folder (use helpers.paths)"
            )
    return problems


def suite_modules() -> list[Path]:
    """Every Python module under tests/ but the student-like corpora of tests/files/."""
    return sorted(p for p in TESTS.rglob("*.py") if FILES not in p.parents)


def test_no_module_imports_a_test_module_edits_sys_path_or_rederives_the_root():
    modules = suite_modules()
    assert len(modules) > 50 and TESTS / "helpers" / "paths.py" in modules
    found = []
    for path in modules:
        found += layout_problems(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))
    assert found == [], "\n".join(found)


def test_every_allowed_exception_exists_and_is_needed():
    for rel, reason in DERIVES_PATHS.items():
        assert reason and (ROOT / rel).is_file(), rel
        source = (ROOT / rel).read_text(encoding="utf-8")
        assert layout_problems(source, "tests/elsewhere.py"), f"{rel} no longer needs its exception"


BROKEN = {
    "import_test_module": ("import test_checks\n", "imports test_checks"),
    "import_from_test_module": ("from test_workflow import LINT_JS\n", "imports from test_workflow"),
    "import_in_function": ("def f():\n    import test_exchange\n", "imports test_exchange"),
    "import_conftest": ("from conftest import ROOT\n", "imports from conftest"),
    "import_conftest_module": ("import conftest\n", "imports conftest"),
    "sys_path_insert": ("import sys\nsys.path.insert(0, 'tests/units')\n", "sys.path.insert"),
    "sys_path_append": ("import sys\n\ndef f():\n    sys.path.append('scripts')\n", "sys.path.append"),
    "sys_path_assigned": ("import sys\nsys.path[:0] = ['scripts']\n", "assigns sys.path"),
    "syspath_prepend": ("def test(monkeypatch):\n    monkeypatch.syspath_prepend('x')\n", "syspath_prepend"),
    "root_from_file": (
        "from pathlib import Path\nREPO = Path(__file__).resolve().parents[2]\n",
        "Path(__file__).parents re-derives",
    ),
    "files_from_file": (
        "import pathlib\nIMPLS = pathlib.Path(__file__).parents[1] / 'files' / 'impls'\n",
        "Path(__file__).parents re-derives",
    ),
    "folder_from_file": (
        "from pathlib import Path\nHERE = Path(__file__).parent / 'files'\n",
        "Path(__file__).parent re-derives",
    ),
}  # fmt: skip
"""Modules that break the layout, each with the words its problem is reported with."""


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_module_that_breaks_the_layout_is_found(tmp_path, case):
    """The checker on a temporary module written each forbidden way, and on the same module fixed."""
    source, words = BROKEN[case]
    module = tmp_path / "tests" / "units" / f"test_{case}.py"
    module.parent.mkdir(parents=True)
    module.write_text(source)
    problems = layout_problems(module.read_text(), "tests/units/" + module.name)
    assert len(problems) == 1 and words in problems[0], problems
    assert problems[0].startswith(f"tests/units/{module.name}:")


def test_what_the_layout_allows_is_not_reported():
    """Helpers imported from helpers/, a file loaded by path, student code and scripts in strings."""
    source = (
        "import sys\n"
        "from helpers.paths import ROOT, FILES\n"
        "from helpers.loading import load_module\n"
        "from helpers import impls\n"
        "import testing_tools\n"
        "build = load_module(FILES / 'hostile' / 'build.py', 'hostile_build')\n"
        "STUDENT = 'import sys\\nsys.path.append(\"..\")\\n'\n"
        "SCRIPT = 'from pathlib import Path\\nprint(Path(__file__).parent)\\n'\n"
        "print(sys.path[0], ROOT.parent, Path(sys.executable).parent)\n"
    )
    assert layout_problems(source, "tests/units/test_fine.py") == []


def _names_slow(node: ast.AST) -> bool:
    """Whether `node` (a decorator or a pytestmark value) is or holds ``pytest.mark.slow``."""
    return any(isinstance(n, ast.Attribute) and n.attr == "slow" for n in ast.walk(node))


def fast_lane_problems(source: str, rel: str) -> list[str]:
    """Why the test module `rel` has no test in the fast lane (``scripts/test.sh --fast``, the tests
    not marked slow): a module-wide slow mark, or every test function marked slow."""
    tree = ast.parse(source, rel)
    for node in tree.body:
        targets = getattr(node, "targets", None) or [getattr(node, "target", None)]
        if any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in targets):
            if _names_slow(node.value):
                return [f"{rel}: pytestmark marks every test slow; mark the slow tests instead"]
    tests = [
        n for n in tree.body
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name.startswith("test_")
    ]  # fmt: skip
    if tests and all(any(_names_slow(d) for d in t.decorator_list) for t in tests):
        return [f"{rel}: every test is marked slow; keep one quick test out of the slow mark"]
    return []


def test_every_test_module_has_a_test_in_the_fast_lane():
    """``bash scripts/test.sh --fast`` (``-m "not slow"``) runs at least one test of each module."""
    problems = []
    for path in suite_modules():
        if path.name.startswith("test_"):
            problems += fast_lane_problems(path.read_text(), str(path.relative_to(ROOT)))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    "source",
    [
        "import pytest\npytestmark = pytest.mark.slow\ndef test_a(): pass\n",
        "import pytest\npytestmark = [pytest.mark.slow, pytest.mark.x]\ndef test_a(): pass\n",
        "import pytest\n@pytest.mark.slow\ndef test_a(): pass\n@pytest.mark.slow\ndef test_b(): pass\n",
    ],
)
def test_a_module_with_no_quick_test_is_found(source):
    assert len(fast_lane_problems(source, "tests/test_x.py")) == 1


def test_a_module_with_one_quick_test_is_in_the_fast_lane():
    source = "import pytest\n@pytest.mark.slow\ndef test_a(): pass\ndef test_b(): pass\n"
    assert fast_lane_problems(source, "tests/test_x.py") == []
