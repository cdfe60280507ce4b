"""Practice feedback on a push: the public checks of the self-check, reported as not the grade.

Runs in the student's own repository on a GitHub-hosted runner (.github/workflows/classroom.yml):
no course checkout, no answer key, no secret, no GPU. Which notebook and self-check it runs,
practice.json beside it says (``{"notebook": ..., "selfcheck": ...}``, written into the template by
``python -m autograder classroom template`` for its assignment). It reads the notebook's
definitions (imports, functions, classes and literal constants; nothing else of the notebook runs,
so no data set and no training), runs the public checks of the self-check beside the notebook on
them, prints the self-check's own report, and writes one step output, ``practice``, in the format
that classroom-resources/autograding-grading-reporter reads from ``PRACTICE_RESULTS`` (base64 of
``{"version": 1, "status", "max_score", "tests": [...]}``). Every line it writes is in English and
Chinese; the texts are the course's gettext messages (autograder/platforms/classroom.py,
PRACTICE_TEXTS; tests/platforms/test_classroom.py keeps the two in step). The official grade is
taken by the instructor from the repository after the deadline (python -m autograder classroom
collect); nothing here counts.

    python .github/classroom/practice.py [--repo DIR] [--github-output FILE]
"""

from __future__ import annotations

import argparse
import ast
import base64
import importlib.util
import json
import os
import re
import sys
from pathlib import Path

CONFIG = Path(__file__).resolve().with_name("practice.json")
"""{"notebook": the graded notebook's name, "selfcheck": its self-check's file name}."""
RUNNER = "practice"
"""The reporter's runner id: the workflow's ``runners:`` and ``PRACTICE_RESULTS``."""

TEXTS = {
    "title": (
        "Practice feedback: the public checks of {selfcheck}. These points are not your grade.",
        "练习反馈：{selfcheck} 的公开检查。这些分数不是你的成绩。",
    ),
    "grade": (
        "The instructor grades the last commit you push before the deadline, with hidden inputs "
        "and training; your grade can differ from these points.",
        "教师在截止时间后评定你在截止前推送的最后一次提交（包括隐藏输入和训练）；你的成绩可能与这里的分数不同。",
    ),
    "no_notebook": (
        "No {notebook} in this repository: commit and push your notebook.",
        "本仓库中没有 {notebook}：请提交并推送你的 notebook。",
    ),
    "no_selfcheck": (
        "No {selfcheck} beside {notebook}: restore it from the assignment's template.",
        "{notebook} 旁边没有 {selfcheck}：请从作业模板中恢复它。",
    ),
    "skipped": (
        "Code cell {number} was skipped ({error}).",
        "已跳过第 {number} 个代码单元格（{error}）。",
    ),
    "failed": (
        "The self-check could not run: {error}",
        "自检无法运行：{error}",
    ),
    "test_name": ("practice, not the grade: {check}", "练习，不是成绩：{check}"),
    "total": (
        "Practice points (not the grade): {score}/{max_score}",
        "练习分数（不是成绩）：{score}/{max_score}",
    ),
}
"""key -> (English, Chinese): the course's messages (classroom.PRACTICE_TEXTS and its zh_CN catalogue)."""


def say(key: str, **fields) -> str:
    """The text `key` filled with `fields`, in English then Chinese (one line each)."""
    return "\n".join(text.format(**fields) for text in TEXTS[key])


def both(key: str, **fields) -> str:
    """The text `key` filled with `fields`, English / Chinese on one line."""
    return " / ".join(text.format(**fields) for text in TEXTS[key])


def read_config(path: Path = CONFIG) -> tuple[str, str]:
    """(notebook, self-check) named by practice.json; ValueError when it cannot be read."""
    try:
        named = json.loads(path.read_text(encoding="utf-8"))
        notebook, selfcheck = named["notebook"], named["selfcheck"]
    except (OSError, ValueError, TypeError, KeyError) as err:
        raise ValueError(f"{path.name} unreadable ({type(err).__name__})") from err
    if not all(isinstance(n, str) and n and "/" not in n for n in (notebook, selfcheck)):
        raise ValueError(f"{path.name} names no notebook or self-check")
    return notebook, selfcheck


def find_notebook(repo: Path, name: str) -> Path | None:
    """The repository's notebook `name`: at its top, else the shallowest one found."""
    found = [
        p
        for p in repo.rglob(name)
        if not any(part.startswith(".") for part in p.relative_to(repo).parts)
    ]
    return min(found, key=lambda p: (len(p.parts), str(p))) if found else None


MAGIC = re.compile(r"^(\s*)[%!]")


def python_source(src: str) -> str:
    """A cell's source with IPython's magics and shell escapes made no-ops (a cell magic's body kept)."""
    lines = src.splitlines()
    if lines and lines[0].lstrip().startswith("%%"):
        lines = lines[1:]
    return "\n".join(MAGIC.sub(r"\1pass  # ", line) for line in lines)


def is_definition(node: ast.stmt) -> bool:
    """Imports, functions, classes and assignments of literal constants (nothing that computes)."""
    if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)):
        return True
    if isinstance(node, ast.Assign):
        try:
            ast.literal_eval(node.value)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            return False
        return True
    return False


def define(notebook: Path, out) -> dict:
    """The namespace of the notebook's definitions, run in order; what was skipped is printed."""
    namespace = {"__name__": "__main__"}
    cells = json.loads(notebook.read_text(encoding="utf-8")).get("cells", [])
    number = 0
    for cell in cells:
        if cell.get("cell_type") != "code":
            continue
        number += 1
        src = cell.get("source", "")
        src = "".join(src) if isinstance(src, list) else str(src)
        try:
            tree = ast.parse(python_source(src))
        except SyntaxError as err:
            print(say("skipped", number=number, error=f"SyntaxError: {err.msg}"), file=out)
            continue
        for node in tree.body:
            if not is_definition(node):
                continue
            code = compile(ast.Module(body=[node], type_ignores=[]), f"<cell {number}>", "exec")
            try:
                exec(code, namespace)  # noqa: S102 - the student's own code, on their own runner
            except (Exception, SystemExit) as err:  # noqa: BLE001 - reported, the others still run
                print(say("skipped", number=number, error=f"{type(err).__name__}: {err}"), file=out)
    return namespace


def load_selfcheck(path: Path):
    """The self-check imported from `path` under its own name (registered, as its dataclass needs)."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


def document(tests: list[dict], max_score: float) -> dict:
    """The reporter's results document for `tests`."""
    statuses = {t["status"] for t in tests}
    status = "error" if "error" in statuses else "fail" if "fail" in statuses else "pass"
    return {"version": 1, "status": status, "max_score": max_score, "tests": tests}


def test_entry(res) -> dict:
    """One check's result as a test of the reporter's document."""
    passed = res.status == "passed"
    return {
        "name": both("test_name", check=res.check_id),
        "status": "pass" if passed else "fail",
        "score": res.score,
        "message": "" if passed else f"[{res.status}] {res.message}"[:2000],
        "line_no": 0,
        "execution_time": "0s",
    }


def run_checks(module, namespace) -> list:
    """Every public check of the self-check on `namespace` (as its check() runs them)."""
    results = []
    for cid, function in module.CHECKS:
        try:
            res = function(module._Caller(namespace))
        except Exception as err:  # noqa: BLE001 - one broken check does not stop the others
            res = module.CheckResult(
                cid, 0.0, float(module.config.POINTS[cid]), "error", f"{type(err).__name__}: {err}"
            )
        results.append(res)
    return results


def practice(repo: Path, out, config: Path = CONFIG) -> dict:
    """Run the public checks on the repository's notebook; the reporter's document."""
    try:
        name, selfcheck_name = read_config(config)
    except ValueError as err:
        print(say("failed", error=err), file=out)
        return document([], 0.0)
    print(say("title", selfcheck=selfcheck_name), file=out)
    print(say("grade"), file=out)
    print(file=out)
    notebook = find_notebook(repo, name)
    if notebook is None:
        print(say("no_notebook", notebook=name), file=out)
        return document([], 0.0)
    selfcheck = notebook.parent / selfcheck_name
    if not selfcheck.is_file():
        print(
            say("no_selfcheck", selfcheck=selfcheck_name, notebook=notebook.relative_to(repo)),
            file=out,
        )
        return document([], 0.0)
    sys.path.insert(0, str(notebook.parent))  # the notebook's kernel runs in its folder
    os.chdir(notebook.parent)
    try:
        module = load_selfcheck(selfcheck)
        namespace = define(notebook, out)
        module.check(namespace, stream=out)
        results = run_checks(module, namespace)
    except Exception as err:  # noqa: BLE001 - said, and reported as zero points
        print(say("failed", error=f"{type(err).__name__}: {err}"), file=out)
        return document([], 0.0)
    tests = [test_entry(r) for r in results]
    doc = document(tests, sum(float(r.max_score) for r in results))
    score = sum(t["score"] for t in tests)
    print("\n" + say("total", score=f"{score:g}", max_score=f"{doc['max_score']:g}"), file=out)
    return doc


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", default=os.environ.get("GITHUB_WORKSPACE", "."))
    parser.add_argument("--github-output", default=os.environ.get("GITHUB_OUTPUT"))
    args = parser.parse_args(argv)
    doc = practice(Path(args.repo).resolve(), sys.stdout)
    if args.github_output:
        encoded = base64.b64encode(json.dumps(doc, ensure_ascii=False).encode()).decode()
        with open(args.github_output, "a", encoding="utf-8") as fh:
            fh.write(f"{RUNNER}={encoded}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
