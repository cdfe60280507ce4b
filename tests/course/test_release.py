"""release/ is what nbgrader generates from source/ now, and it reveals no solution, hidden test or key."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.loading import load_module
from helpers.paths import ROOT

from autograder import config, units
from autograder.units.softmax_regression import unit as softmax_unit

EDITIONS = list(config.EDITIONS)
"""Every edition is its own nbgrader assignment, released by the same script and tested alike."""
HIDDEN_TEST_COMMENT = {
    "en": ("# Hidden test: ", "({:g} point)", "({:g} points)"),
    "zh_CN": ("# 隐藏测试：", "（{:g} 分）", "（{:g} 分）"),
}
"""Edition -> how a hidden test's comment starts and names its points."""
EDITION_NOTEBOOKS = [(a, name) for a in EDITIONS for name in units.get(a).notebooks]
"""(edition, notebook) for every notebook of every edition: its unit's notebooks."""
KEEP_CELL_METADATA = ("nbgrader", "deletable", "editable", "tags")
"""Cell metadata that release.sh keeps (the rest is volatile front-end state)."""
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
STALE = "release/ is stale: run `bash scripts/release.sh` and commit the result"


def venv_env() -> dict[str, str]:
    """The environment with this interpreter's bin folder (nbgrader, jupyter) first on PATH."""
    bin_dir = str(Path(sys.executable).parent)
    env = {k: v for k, v in os.environ.items() if k != "NBGRADER_DB_URL"}  # a throw-away gradebook
    return {**env, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}


def load(path: Path) -> dict:
    """A notebook as plain JSON with every cell source joined into one string."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if isinstance(cell["source"], list):
            cell["source"] = "".join(cell["source"])
    return nb


def nbgrader_meta(cell: dict) -> dict:
    """The cell's nbgrader metadata ({} if none)."""
    return cell.get("metadata", {}).get("nbgrader", {})


def solution_regions(source: str) -> list[str]:
    """The code between the solution delimiters of a cell."""
    pattern = r"^[ \t]*### BEGIN SOLUTION\n(.*?)^[ \t]*### END SOLUTION"
    return re.findall(pattern, source + "\n", re.S | re.M)


@pytest.fixture(scope="module")
def regenerated_root(tmp_path_factory) -> Path:
    """release/ (every edition) as scripts/release.sh makes it now, in a copy of the course."""
    course = tmp_path_factory.mktemp("course")
    ignore = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", "*.pyc")
    for assignment in EDITIONS:
        shutil.copytree(ROOT / "source" / assignment, course / "source" / assignment, ignore=ignore)
    shutil.copy(ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "release.sh"), str(course)],
        env=venv_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, f"scripts/release.sh failed:\n{result.stdout}\n{result.stderr}"
    assert not (course / "gradebook.db").exists(), "release.sh must not create a gradebook"
    return course / "release"


def test_release_sh_refuses_an_assignment_it_does_not_register(tmp_path):
    """`release.sh COURSE ASSIGNMENT...` releases only the editions named (nbgrader-demo.sh: its
    students' ones); a name config.EDITIONS lacks is refused before nbgrader runs, with the list."""
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "release.sh"), str(tmp_path), EDITIONS[0], "softmax_regresion"],
        env=venv_env(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "no assignment 'softmax_regresion'" in result.stderr and EDITIONS[0] in result.stderr
    assert not (tmp_path / "release").exists()


@pytest.fixture(params=EDITIONS)
def edition(request) -> str:
    """The assignment name of one edition."""
    return request.param


@pytest.fixture
def regenerated(regenerated_root, edition) -> Path:
    """release/<edition> as scripts/release.sh makes it now."""
    return regenerated_root / edition


def release_files(folder: Path) -> list[str]:
    """Relative paths of the files nbgrader released (caches excluded)."""
    return sorted(
        str(p.relative_to(folder))
        for p in folder.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and ".ipynb_checkpoints" not in p.parts
    )


def test_release_has_the_regenerated_files(regenerated, edition):
    release = ROOT / "release" / edition
    assert release_files(release) == release_files(regenerated), STALE
    unit = units.get(edition)
    for name in ("fashion_mnist.py", "animator.py", *unit.helpers, *unit.notebooks):
        assert (release / name).is_file(), f"release/{edition}/{name} is missing"
    modules = {name for name in unit.helpers if name.endswith(".py")}
    assert {p.name for p in release.glob("*.py")} == modules, f"release/{edition}: not its helpers"


@pytest.mark.parametrize("edition", EDITIONS)
def test_release_says_what_a_student_installs_in_the_graders_versions(edition):
    """release/<edition>/requirements.txt (from source/, copied by nbgrader) pins what the
    notebooks import at the versions of requirements.lock, the grader's."""
    wanted = ("torch", "torchvision", "matplotlib", "ipython", "ipykernel")
    lock = dict(ln.split("==", 1) for ln in (ROOT / "requirements.lock").read_text().splitlines()
                if "==" in ln and not ln.startswith((" ", "#")))  # fmt: skip
    path = ROOT / "release" / edition / "requirements.txt"
    pins = dict(ln.split("==", 1) for ln in path.read_text().splitlines()
                if ln.strip() and not ln.startswith("#"))  # fmt: skip
    assert pins == {name: lock[name].strip() for name in wanted}


def test_release_has_every_edition_and_nothing_else():
    assert sorted(p.name for p in (ROOT / "release").iterdir() if p.is_dir()) == sorted(EDITIONS)


def test_helper_modules_are_copied_unchanged(regenerated, edition):
    for path in (ROOT / "source" / edition).glob("*.py"):
        released = ROOT / "release" / edition / path.name
        assert released.read_bytes() == path.read_bytes(), f"{edition}/{path.name}: {STALE}"


@pytest.mark.parametrize("edition, notebook", EDITION_NOTEBOOKS)
def test_release_matches_regeneration_cell_by_cell(regenerated, edition, notebook):
    committed, fresh = load(ROOT / "release" / edition / notebook), load(regenerated / notebook)
    assert committed["metadata"].get("kernelspec") == fresh["metadata"].get("kernelspec"), STALE
    assert len(committed["cells"]) == len(fresh["cells"]), (
        f"{notebook}: cell count differs; {STALE}"
    )
    for index, (got, want) in enumerate(zip(committed["cells"], fresh["cells"], strict=True)):
        where = f"{notebook} cell {index + 1} (id {want.get('id')})"
        for key in ("id", "cell_type", "source"):
            assert got.get(key) == want.get(key), f"{where}: {key} differs; {STALE}"
        stable = {k: v for k, v in want["metadata"].items() if k in KEEP_CELL_METADATA}
        assert {k: v for k, v in got["metadata"].items() if k in KEEP_CELL_METADATA} == stable, (
            f"{where}: metadata differs; {STALE}"
        )


@pytest.mark.parametrize("edition, notebook", EDITION_NOTEBOOKS)
def test_release_is_byte_stable(regenerated, edition, notebook):
    """release.sh normalises volatile metadata: the committed bytes are exactly reproducible."""
    committed = ROOT / "release" / edition / notebook
    assert committed.read_bytes() == (regenerated / notebook).read_bytes(), STALE


@pytest.mark.parametrize("assignment, notebook", EDITION_NOTEBOOKS)
def test_release_notebooks_say_what_they_were_generated_from(assignment, notebook):
    metadata = load(ROOT / "release" / assignment / notebook)["metadata"]
    provenance = metadata["softmax_release"]
    assert provenance["generated_from"] == f"source/{assignment}/{notebook}"
    assert "scripts/release.sh" in provenance["generated_by"]
    assert metadata["softmax_course"]["edition"] == config.EDITIONS[assignment]


@pytest.mark.parametrize("assignment", EDITIONS)
def test_source_cells_have_stable_ids(assignment):
    for notebook in units.get(assignment).notebooks:
        nb = load(ROOT / "source" / assignment / notebook)
        assert (nb["nbformat"], nb["nbformat_minor"]) >= (4, 5), f"{notebook}: save as nbformat 4.5"
        ids = [cell.get("id") for cell in nb["cells"]]
        assert all(ids) and len(set(ids)) == len(ids), f"{notebook}: every cell needs a unique id"


@pytest.mark.parametrize("assignment", EDITIONS)
def test_release_has_no_delimiters_or_hidden_test_code(assignment):
    for path in (ROOT / "release" / assignment).iterdir():
        if path.suffix != ".ipynb":
            continue
        text = path.read_text(encoding="utf-8")
        for marker in MARKERS:
            assert marker not in text, f"{path.name} contains {marker!r}"
        for hidden in ("run_checks", "check_answer", "autograder", "answer_key", "confined grader"):
            assert hidden not in text, f"{path.name} mentions {hidden!r} (hidden test code)"


CROSS_UNIT_REVEALS = {
    ("softmax_regression_concise", "softmax_regression"): {"accuracy", "train_ch3"},
}
"""(releasing unit, graded unit) -> grade_ids of the graded unit's solution cells whose code the
releasing unit's notebook gives on purpose: the concise unit (d2l 3.7) gives section 3.6's
accuracy, train_epoch_ch3 and train_ch3 as d2l defines them, the first unit's graded solutions
(14 of its 32 points). So the concise unit must be released only after the first unit is due."""


def released_sources(folder: str) -> str:
    """Every cell source of the release of edition `folder` (all its unit's notebooks)."""
    return "\n".join(
        cell["source"]
        for notebook in units.get(folder).notebooks
        for cell in load(ROOT / "release" / folder / notebook)["cells"]
    )


def released_solutions(assignment: str) -> dict[tuple[str, str], list[str]]:
    """(edition, grade_id) -> the lines of the assignment's solutions (code lines of 12 characters
    or more that the source shows nowhere else, the first line of each model answer) that the
    release of that edition (of any unit) contains."""
    releases = {folder: released_sources(folder) for folder in EDITIONS}
    found: dict[tuple[str, str], list[str]] = {}
    for notebook in units.get(assignment).notebooks:
        source = load(ROOT / "source" / assignment / notebook)
        outside = "\n".join(
            re.sub(r"### BEGIN SOLUTION.*?### END SOLUTION", "", c["source"], flags=re.S)
            for c in source["cells"]
            if not (c["cell_type"] == "markdown" and nbgrader_meta(c).get("solution"))
        )
        for cell in source["cells"]:
            gid = nbgrader_meta(cell).get("grade_id")
            lines = [ln.strip() for r in solution_regions(cell["source"]) for ln in r.splitlines()]
            lines = [ln for ln in lines if len(ln) >= 12 and not ln.startswith("#")]
            lines = [ln for ln in lines if ln not in outside]
            if cell["cell_type"] == "markdown" and nbgrader_meta(cell).get("solution"):
                lines.append(cell["source"].strip().splitlines()[0])
            for folder, text in releases.items():
                shown = [ln for ln in lines if ln in text]
                if shown:
                    found.setdefault((folder, gid), []).extend(shown)
    return found


@pytest.mark.parametrize("assignment", EDITIONS)
def test_release_contains_no_solution_line(assignment):
    """No line of a solution appears in the release unless the source shows it elsewhere too; nor
    in another edition's release, nor in another unit's, but where CROSS_UNIT_REVEALS says so."""
    unit = units.get(assignment)
    for notebook in unit.notebooks:
        source = load(ROOT / "source" / assignment / notebook)
        regions = [r for cell in source["cells"] for r in solution_regions(cell["source"])]
        assert regions or notebook == unit.quiz_notebook, f"{notebook}: no solution regions"
    for (folder, gid), lines in released_solutions(assignment).items():
        releasing = units.get(folder).name
        assert releasing != unit.name, f"solution line of {gid} released in {folder}: {lines[0]!r}"
        assert gid in CROSS_UNIT_REVEALS.get((releasing, unit.name), ()), (
            f"solution line of {gid} of {unit.name} released in {folder}: {lines[0]!r}"
        )


@pytest.mark.parametrize("assignment", EDITIONS)
def test_cross_unit_reveals_are_exactly_the_declared_ones(assignment):
    """The solutions another unit's release shows are those of CROSS_UNIT_REVEALS, all of them."""
    unit = units.get(assignment)
    for releasing in units.every():
        if releasing.name == unit.name:
            continue
        declared = CROSS_UNIT_REVEALS.get((releasing.name, unit.name), set())
        for folder in units.assignments_of(releasing):
            shown = {gid for (f, gid) in released_solutions(assignment) if f == folder}
            assert shown == declared, (folder, unit.name)


@pytest.mark.parametrize("assignment", EDITIONS)
def test_release_assigns_no_quiz_answer(assignment):
    release, unit = ROOT / "release" / assignment, units.get(assignment)
    if unit.quiz_notebook is None:
        pytest.skip(f"{unit.name} has no quiz")
    quiz = unit.quiz
    nb = load(release / unit.quiz_notebook)
    variables = {q.variable for q in quiz.QUESTIONS}
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        for node in ast.walk(ast.parse(cell["source"])):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                assert node.id not in variables, f"the release assigns {node.id}"
    assert all(r.status == "missing" for r in quiz.grade_quiz(release / unit.quiz_notebook))
    assert not list(release.rglob("answer_key*")), "the answer key must not be released"
    assert not list(release.rglob("*.toml")), (
        "the translation (it holds model answers) stays in source/"
    )


def graded_cells(notebook: Path) -> dict[str, float]:
    """grade_id -> points of the graded cells (autograded tests and manually graded answers)."""
    return {
        nbgrader_meta(c)["grade_id"]: nbgrader_meta(c)["points"]
        for c in load(notebook)["cells"]
        if nbgrader_meta(c).get("grade")
    }


def expected_graded_cells(unit: units.Unit) -> dict[str, dict[str, float]]:
    """notebook -> grade_id -> points, from the unit's points, graded functions and quiz."""
    main = {"test_" + check.replace(".", "_"): points for check, points in unit.points.items()}
    # the visible tests: graded with 0 points, so that nbgrader's Validate fails when they fail
    main.update({f"{function}_visible_tests": 0 for function in unit.graded_functions})
    if unit.quiz_notebook is None:
        return {unit.main_notebook: main}
    quiz = unit.quiz
    quiz_cells = {f"test_{q.qid}": config.QUIZ.points_per_question for q in quiz.QUESTIONS}
    quiz_cells.update({m.qid: m.points for m in quiz.MANUAL_QUESTIONS})
    return {unit.main_notebook: main, unit.quiz_notebook: quiz_cells}


@pytest.mark.parametrize(
    "folder",
    [ROOT / kind / assignment for assignment in EDITIONS for kind in ("source", "release")],
    ids=[f"{kind}-{assignment}" for assignment in EDITIONS for kind in ("source", "release")],
)
def test_graded_cells_and_points_equal_config(folder):
    unit = units.get(folder.name)
    for notebook, want in expected_graded_cells(unit).items():
        assert graded_cells(folder / notebook) == want, f"{folder.name}/{notebook}"
    main = sum(graded_cells(folder / unit.main_notebook).values())
    assert main == pytest.approx(float(sum(unit.points.values()))) == unit.max_points()


def test_solution_cells_are_the_graded_functions_and_questions():
    for folder in [
        ROOT / kind / assignment for assignment in EDITIONS for kind in ("source", "release")
    ]:
        unit = units.get(folder.name)
        wanted = [(unit.main_notebook, list(unit.graded_functions))]
        if unit.quiz_notebook is not None:
            wanted.append((unit.quiz_notebook, [q.qid for q in unit.quiz.QUESTIONS]))
        for notebook, want in wanted:
            got = [
                nbgrader_meta(c)["grade_id"]
                for c in load(folder / notebook)["cells"]
                if c["cell_type"] == "code" and nbgrader_meta(c).get("solution")
            ]
            assert got == want, f"{folder.name}/{notebook}"


@pytest.mark.parametrize("assignment", EDITIONS)
def test_each_hidden_test_runs_its_own_check_and_states_its_points(assignment):
    unit = units.get(assignment)
    source_nb = load(ROOT / "source" / assignment / unit.main_notebook)
    release_nb = load(ROOT / "release" / assignment / unit.main_notebook)
    cells = {nbgrader_meta(c).get("grade_id"): c for c in source_nb["cells"]}
    released = {nbgrader_meta(c).get("grade_id"): c for c in release_nb["cells"]}
    prefix, one, many = HIDDEN_TEST_COMMENT[config.EDITIONS[assignment]]
    for check, points in unit.points.items():
        gid = "test_" + check.replace(".", "_")
        source = cells[gid]["source"]
        stated = (one if points == 1 else many).format(points)
        # the cell names its check and calls nothing: the confined grader grades it
        assert f'confined grader: check "{check}"' in source and "import" not in source, gid
        assert source.startswith(prefix) and stated in source.splitlines()[0], gid
        assert released[gid]["source"].strip() == source.splitlines()[0], gid
    # the function owning each check: its solution cell comes before the check's cell
    order = list(cells)
    for check in unit.points:
        function = check.split(".")[0]
        assert order.index(function) < order.index("test_" + check.replace(".", "_")), check


def test_examples_are_generated_from_the_current_release(tmp_path):
    module = load_module(ROOT / "examples" / "make_examples.py", "make_examples")
    module.write_class(tmp_path)
    committed = ROOT / "examples"
    fresh = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    present = [str(p.relative_to(committed)) for p in (committed / "submitted").rglob("*.ipynb")]
    assert sorted([*present, "README.md"]) == fresh, (
        "examples/ is stale: run `python examples/make_examples.py`"
    )
    for name in fresh:
        assert (committed / name).read_bytes() == (tmp_path / name).read_bytes(), (
            f"examples/{name} is stale: run `python examples/make_examples.py`"
        )


# -- the students' self-check (softmax_selfcheck.py, generated by scripts/make_selfcheck.py) ----
SELFCHECK = "softmax_selfcheck.py"
GRADED_NAMES = {*softmax_unit.GRADED_FUNCTIONS, "train_epoch_ch3", "evaluate_accuracy", "sgd", "net",
                "updater", "predict_ch3"}  # fmt: skip


def selfcheck_of(assignment: str) -> str | None:
    """The self-check the assignment's unit releases (its ``*_selfcheck.py`` helper), or None."""
    return next((h for h in units.get(assignment).helpers if h.endswith("_selfcheck.py")), None)


SELFCHECK_EDITIONS = [a for a in EDITIONS if selfcheck_of(a)]
"""The editions whose unit has a self-check (the concise unit has none)."""


def english_edition(unit: units.Unit) -> str:
    """The unit's English assignment: source/<it>/ holds the self-check the editions copy."""
    return next(a for a in units.assignments_of(unit) if config.EDITIONS[a] == "en")


def selfcheck_leaks(text: str, assignment: str = config.ASSIGNMENT) -> list[str]:
    """What a self-check must not hold: the grader's package, the answer key, hidden checks or their
    inputs, a graded function's implementation (of the assignment's unit)."""
    unit = units.get(assignment)
    graded_names = GRADED_NAMES | set(unit.graded_functions)
    graded_names |= {f for fs in unit.solution_cell_functions.values() for f in fs}
    checks = unit.module("checks")
    found = []
    tree = ast.parse(text)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
            found += [f"imports {n}" for n in names if n.split(".")[0] == "autograder"]
        if (
            isinstance(node, (ast.FunctionDef, ast.Lambda))
            and getattr(node, "name", "") in graded_names
        ):
            found.append(f"defines {node.name}")
        # a softmax, loss or accuracy written out (torch's own torch.softmax is allowed)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in ("exp", "exp_", "log", "log_", "logsumexp", "argmax"):
                found.append(f"computes {node.func.attr}")
    key = json.loads(Path(unit.quiz.KEY_FILE).read_text()) if unit.quiz_notebook else {}
    found += ["answer key"] * ("answer_key" in text or "_answer" in text)
    for answer in key.get("answers", {}).values():
        value = answer.get("answer", answer) if isinstance(answer, dict) else answer
        if isinstance(value, (int, float)) and not isinstance(value, bool) and repr(value) in text:
            found.append(f"quiz answer {value!r}")
    public = unit.registry.public - unit.registry.training
    for cid, fn in checks.CHECKS:
        if cid not in public and (fn.__name__ in text or f"'{cid}'" in text or f'"{cid}"' in text):
            found.append(f"hidden check {cid}")
    for name in ("STABILITY_MAGNITUDES", "LOSS_CLASS_WEIGHTS", "hidden_arrays", "gradcheck"):
        found += [f"hidden input {name}"] * (name in text)
    return found


def test_selfcheck_is_generated_from_the_current_checks():
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "make_selfcheck.py"), "--check"],
                          capture_output=True, text=True)  # fmt: skip
    assert proc.returncode == 0, "run `python scripts/make_selfcheck.py`: " + proc.stdout
    assert {config.ASSIGNMENT, "softmax_regression_zh"} <= set(SELFCHECK_EDITIONS)
    assert selfcheck_of(config.ASSIGNMENT) == SELFCHECK
    for edition in SELFCHECK_EDITIONS:
        name = selfcheck_of(edition)
        source = (ROOT / "source" / english_edition(units.get(edition)) / name).read_bytes()
        assert (ROOT / "release" / edition / name).read_bytes() == source, STALE


@pytest.mark.parametrize("edition", EDITIONS)
def test_only_a_unit_with_a_selfcheck_releases_one(edition):
    """A unit without a ``*_selfcheck.py`` helper (the concise unit) releases no self-check."""
    released = {p.name for p in (ROOT / "release" / edition).glob("*_selfcheck.py")}
    assert released == ({selfcheck_of(edition)} if selfcheck_of(edition) else set())


@pytest.mark.parametrize("edition", SELFCHECK_EDITIONS)
def test_released_selfcheck_leaks_nothing(edition):
    text = (ROOT / "release" / edition / selfcheck_of(edition)).read_text(encoding="utf-8")
    assert selfcheck_leaks(text, edition) == []
    assert "Generated by scripts/make_selfcheck.py" in text


def test_leak_scan_rejects_what_it_must():
    ok = (ROOT / "release" / config.ASSIGNMENT / SELFCHECK).read_text(encoding="utf-8")
    bad = {
        "def softmax(X):\n    e = torch.exp(X)\n    return e / e.sum(1, keepdim=True)\n": "defines softmax",
        "from autograder.units.softmax_regression.checks import softmax_values\n": "imports autograder",
        "def softmax_stability(caller):\n    pass\n": "hidden check softmax.stability",
        "KEY = {'q1_answer': 'b'}\n": "answer key",
        "MAGS = config.STABILITY_MAGNITUDES\n": "hidden input STABILITY_MAGNITUDES",
    }
    for extra, problem in bad.items():
        assert any(problem in f for f in selfcheck_leaks(ok + extra)), problem


def _load_selfcheck(edition=config.ASSIGNMENT):
    # registered as `import softmax_selfcheck` registers it (its dataclass needs that)
    return load_module(ROOT / "release" / edition / SELFCHECK, f"selfcheck_{edition}")


def test_selfcheck_gives_the_graders_messages_and_returns_nothing():
    import io

    import torch

    from autograder import selfcheck

    namespace: dict = {"torch": torch}
    exec(  # noqa: S102 - a student's broken functions: in-place softmax, 1-D losses, fraction
        "def softmax(X):\n"
        "    X.sub_(X.max(1, keepdim=True).values).exp_()\n"
        "    return X / X.sum(1)\n"
        "def cross_entropy(y_hat, y):\n"
        "    return -torch.log(y_hat[:, y])\n"
        "def accuracy(y_hat, y):\n"
        "    raise NotImplementedError()\n",
        namespace,
    )
    module = _load_selfcheck()
    out = io.StringIO()
    assert module.check(namespace, stream=out) is None
    text = out.getvalue()
    graders = {r.check_id: r for r in selfcheck.run_public(namespace, forbidden={}, practice=True)}
    public = [cid for cid, _ in module.CHECKS]
    assert sorted(public) == sorted(selfcheck.PUBLIC - selfcheck.TRAINING)
    failed = 0
    for cid in public:
        res = graders[cid]
        assert f"{res.check_id:28} {res.score:g}/{res.max_score:g}" in text
        if not res.passed:
            failed += 1
            for line in res.message.splitlines():
                assert "          " + line in text, (cid, line)
    assert failed >= 5  # the broken functions above fail most public checks
    # called without arguments from a notebook cell, it reads the caller's globals
    assert (
        "check()"
        in load(ROOT / "release" / config.ASSIGNMENT / softmax_unit.MAIN_NOTEBOOK)["cells"][-2][
            "source"
        ]
    )


def test_selfcheck_passes_a_correct_solution():
    import io

    import torch

    namespace: dict = {"torch": torch}
    exec(  # noqa: S102
        "def softmax(X):\n"
        "    e = torch.exp(X - X.max(1, keepdim=True).values)\n"
        "    return e / e.sum(1, keepdim=True)\n"
        "def cross_entropy(y_hat, y):\n"
        "    return -torch.log(y_hat[range(len(y_hat)), y].clamp_min(1e-30))\n"
        "def accuracy(y_hat, y):\n"
        "    if len(y_hat.shape) > 1 and y_hat.shape[1] > 1:\n"
        "        y_hat = y_hat.argmax(axis=1)\n"
        "    return float((y_hat.type(y.dtype) == y).type(y.dtype).sum())\n",
        namespace,
    )
    out = io.StringIO()
    module = _load_selfcheck("softmax_regression_zh")
    module.check(namespace, stream=out)
    # the Chinese edition's copy speaks Chinese (#13)
    n = len(module.CHECKS)
    assert f"通过 {n}/{n} 项公开检查" in out.getvalue(), out.getvalue()


@pytest.mark.parametrize("edition", EDITIONS)
def test_visible_test_messages_fit_nbgrader_validate(edition):
    """`nbgrader validate` shows a failed assert as one line "AssertionError: <message>" and cuts
    any line longer than its Validator.width mid-word: every visible test's message fits whole."""
    from nbgrader.validator import Validator

    validator = Validator()
    limit = validator.width - 3 - len(validator.indent) - len("AssertionError: ")
    checked = 0
    for name in units.get(edition).notebooks:
        for cell in load(ROOT / "release" / edition / name)["cells"]:
            meta = nbgrader_meta(cell)
            if cell["cell_type"] != "code" or not meta.get("grade") or meta.get("solution"):
                continue
            source = "".join(cell["source"])
            source = "\n".join(ln for ln in source.split("\n") if not ln.lstrip().startswith("%"))
            for node in ast.walk(ast.parse(source)):
                if isinstance(node, ast.Assert) and node.msg is not None:
                    # an f-string's fields are counted as 12 characters (a shape, a number)
                    parts = node.msg.values if isinstance(node.msg, ast.JoinedStr) else [node.msg]
                    shown = sum(len(p.value) if isinstance(p, ast.Constant) else 12 for p in parts)
                    assert shown <= limit, (edition, name, ast.get_source_segment(source, node.msg))
                    checked += 1
    assert checked
