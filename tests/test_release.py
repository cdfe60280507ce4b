"""release/ is what nbgrader generates from source/ now, and it reveals no solution, hidden test or key."""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autograder import config, quiz

REPO = Path(__file__).resolve().parent.parent
EDITIONS = list(config.EDITIONS)
"""Every edition is its own nbgrader assignment, released by the same script and tested alike."""
HIDDEN_TEST_COMMENT = {
    "en": ("# Hidden test: ", "({:g} point)", "({:g} points)"),
    "zh_CN": ("# 隐藏测试：", "（{:g} 分）", "（{:g} 分）"),
}
"""Edition -> how a hidden test's comment starts and names its points."""
NOTEBOOKS = (config.MAIN_NOTEBOOK, config.QUIZ_NOTEBOOK)
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
        shutil.copytree(REPO / "source" / assignment, course / "source" / assignment, ignore=ignore)
    shutil.copy(REPO / "nbgrader_config.py", course / "nbgrader_config.py")
    result = subprocess.run(
        ["bash", str(REPO / "scripts" / "release.sh"), str(course)],
        env=venv_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, f"scripts/release.sh failed:\n{result.stdout}\n{result.stderr}"
    assert not (course / "gradebook.db").exists(), "release.sh must not create a gradebook"
    return course / "release"


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
    release = REPO / "release" / edition
    assert release_files(release) == release_files(regenerated), STALE
    for name in ("fashion_mnist.py", "animator.py", *NOTEBOOKS):
        assert (release / name).is_file(), f"release/{edition}/{name} is missing"


def test_release_has_every_edition_and_nothing_else():
    assert sorted(p.name for p in (REPO / "release").iterdir() if p.is_dir()) == sorted(EDITIONS)


def test_helper_modules_are_copied_unchanged(regenerated, edition):
    for path in (REPO / "source" / edition).glob("*.py"):
        released = REPO / "release" / edition / path.name
        assert released.read_bytes() == path.read_bytes(), f"{edition}/{path.name}: {STALE}"


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_release_matches_regeneration_cell_by_cell(regenerated, edition, notebook):
    committed, fresh = load(REPO / "release" / edition / notebook), load(regenerated / notebook)
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


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_release_is_byte_stable(regenerated, edition, notebook):
    """release.sh normalises volatile metadata: the committed bytes are exactly reproducible."""
    committed = REPO / "release" / edition / notebook
    assert committed.read_bytes() == (regenerated / notebook).read_bytes(), STALE


@pytest.mark.parametrize("assignment", EDITIONS)
@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_release_notebooks_say_what_they_were_generated_from(assignment, notebook):
    metadata = load(REPO / "release" / assignment / notebook)["metadata"]
    provenance = metadata["softmax_release"]
    assert provenance["generated_from"] == f"source/{assignment}/{notebook}"
    assert "scripts/release.sh" in provenance["generated_by"]
    assert metadata["softmax_course"]["edition"] == config.EDITIONS[assignment]


@pytest.mark.parametrize("assignment", EDITIONS)
def test_source_cells_have_stable_ids(assignment):
    for notebook in NOTEBOOKS:
        nb = load(REPO / "source" / assignment / notebook)
        assert (nb["nbformat"], nb["nbformat_minor"]) >= (4, 5), f"{notebook}: save as nbformat 4.5"
        ids = [cell.get("id") for cell in nb["cells"]]
        assert all(ids) and len(set(ids)) == len(ids), f"{notebook}: every cell needs a unique id"


@pytest.mark.parametrize("assignment", EDITIONS)
def test_release_has_no_delimiters_or_hidden_test_code(assignment):
    for path in (REPO / "release" / assignment).iterdir():
        if path.suffix != ".ipynb":
            continue
        text = path.read_text(encoding="utf-8")
        for marker in MARKERS:
            assert marker not in text, f"{path.name} contains {marker!r}"
        for hidden in ("run_checks", "check_answer", "autograder", "answer_key"):
            assert hidden not in text, f"{path.name} mentions {hidden!r} (hidden test code)"


@pytest.mark.parametrize("assignment", EDITIONS)
def test_release_contains_no_solution_line(assignment):
    """No line of a solution appears in the release unless the source shows it elsewhere too."""
    released = "\n".join(
        cell["source"]
        for folder in EDITIONS  # nor in the other edition's release
        for notebook in NOTEBOOKS
        for cell in load(REPO / "release" / folder / notebook)["cells"]
    )
    for notebook in NOTEBOOKS:
        source = load(REPO / "source" / assignment / notebook)
        regions = [r for cell in source["cells"] for r in solution_regions(cell["source"])]
        assert regions or notebook == config.QUIZ_NOTEBOOK, f"{notebook}: no solution regions"
        outside = "\n".join(
            re.sub(r"### BEGIN SOLUTION.*?### END SOLUTION", "", c["source"], flags=re.S)
            for c in source["cells"]
            if not (c["cell_type"] == "markdown" and nbgrader_meta(c).get("solution"))
        )
        for region in regions:
            for line in region.splitlines():
                line = line.strip()
                if len(line) < 12 or line.startswith("#") or line in outside:
                    continue
                assert line not in released, f"solution line released: {line!r}"
        for cell in source["cells"]:
            if cell["cell_type"] == "markdown" and nbgrader_meta(cell).get("solution"):
                first = cell["source"].strip().splitlines()[0]
                assert first not in released, (
                    f"model answer of {nbgrader_meta(cell)['grade_id']} released"
                )


@pytest.mark.parametrize("assignment", EDITIONS)
def test_release_assigns_no_quiz_answer(assignment):
    release = REPO / "release" / assignment
    nb = load(release / config.QUIZ_NOTEBOOK)
    variables = {q.variable for q in quiz.QUESTIONS}
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        for node in ast.walk(ast.parse(cell["source"])):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                assert node.id not in variables, f"the release assigns {node.id}"
    assert all(r.status == "missing" for r in quiz.grade_quiz(release / config.QUIZ_NOTEBOOK))
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


def expected_graded_cells() -> dict[str, dict[str, float]]:
    """notebook -> grade_id -> points, from autograder.config and autograder.quiz."""
    main = {"test_" + check.replace(".", "_"): points for check, points in config.POINTS.items()}
    # the visible tests: graded with 0 points, so that nbgrader's Validate fails when they fail
    main.update({f"{function}_visible_tests": 0 for function in config.GRADED_FUNCTIONS})
    quiz_cells = {f"test_{q.qid}": config.QUIZ.points_per_question for q in quiz.QUESTIONS}
    quiz_cells.update({m.qid: m.points for m in quiz.MANUAL_QUESTIONS})
    return {config.MAIN_NOTEBOOK: main, config.QUIZ_NOTEBOOK: quiz_cells}


@pytest.mark.parametrize(
    "folder",
    [REPO / kind / assignment for assignment in EDITIONS for kind in ("source", "release")],
    ids=[f"{kind}-{assignment}" for assignment in EDITIONS for kind in ("source", "release")],
)
def test_graded_cells_and_points_equal_config(folder):
    for notebook, want in expected_graded_cells().items():
        assert graded_cells(folder / notebook) == want, f"{folder.name}/{notebook}"
    main = sum(graded_cells(folder / config.MAIN_NOTEBOOK).values())
    assert main == pytest.approx(config.max_points())


def test_solution_cells_are_the_graded_functions_and_questions():
    for folder in [
        REPO / kind / assignment for assignment in EDITIONS for kind in ("source", "release")
    ]:
        for notebook, want in (
            (config.MAIN_NOTEBOOK, list(config.GRADED_FUNCTIONS)),
            (config.QUIZ_NOTEBOOK, [q.qid for q in quiz.QUESTIONS]),
        ):
            got = [
                nbgrader_meta(c)["grade_id"]
                for c in load(folder / notebook)["cells"]
                if c["cell_type"] == "code" and nbgrader_meta(c).get("solution")
            ]
            assert got == want, f"{folder.name}/{notebook}"


@pytest.mark.parametrize("assignment", EDITIONS)
def test_each_hidden_test_runs_its_own_check_and_states_its_points(assignment):
    source_nb = load(REPO / "source" / assignment / config.MAIN_NOTEBOOK)
    release_nb = load(REPO / "release" / assignment / config.MAIN_NOTEBOOK)
    cells = {nbgrader_meta(c).get("grade_id"): c for c in source_nb["cells"]}
    released = {nbgrader_meta(c).get("grade_id"): c for c in release_nb["cells"]}
    prefix, one, many = HIDDEN_TEST_COMMENT[config.EDITIONS[assignment]]
    for check, points in config.POINTS.items():
        gid = "test_" + check.replace(".", "_")
        source = cells[gid]["source"]
        stated = (one if points == 1 else many).format(points)
        assert f'run_checks("{check}", globals())' in source, gid
        assert source.startswith(prefix) and stated in source.splitlines()[0], gid
        assert released[gid]["source"].strip() == source.splitlines()[0], gid
    # the function owning each check: its solution cell comes before the check's cell
    order = list(cells)
    for check in config.POINTS:
        function = check.split(".")[0]
        assert order.index(function) < order.index("test_" + check.replace(".", "_")), check


def test_examples_are_generated_from_the_current_release(tmp_path):
    spec = importlib.util.spec_from_file_location(
        "make_examples", REPO / "examples" / "make_examples.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.write_class(tmp_path)
    committed = REPO / "examples"
    fresh = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    present = [str(p.relative_to(committed)) for p in (committed / "submitted").rglob("*.ipynb")]
    assert sorted([*present, "README.md"]) == fresh, (
        "examples/ is stale: run `python examples/make_examples.py`"
    )
    for name in fresh:
        assert (committed / name).read_bytes() == (tmp_path / name).read_bytes(), (
            f"examples/{name} is stale: run `python examples/make_examples.py`"
        )
