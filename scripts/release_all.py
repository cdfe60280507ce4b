"""Generate and normalise release/<assignment>/ for each given edition, in one process (release.sh).

Usage (in the course folder): python scripts/release_all.py [--gradebook] ASSIGNMENT...

Each edition is ``nbgrader generate_assignment ASSIGNMENT --force`` run in this process (nbgrader's
own app, with the course's nbgrader_config.py): importing nbgrader and Jupyter once instead of once
per edition took the release of four editions from 48 s to 22 s (12.5 s of CPU). Without --gradebook the
assignment is recorded in a throw-away gradebook. Then the release notebooks' volatile metadata is
normalised (see release.sh).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import nbformat

KEEP_CELL_METADATA = ("nbgrader", "deletable", "editable", "tags")


def generate(assignment: str, db_url: str | None) -> None:
    """``nbgrader generate_assignment assignment --force`` in this process (cwd: the course)."""
    from nbgrader.apps.generateassignmentapp import GenerateAssignmentApp

    argv = [assignment, "--force", "--log-level=WARN"]
    if db_url:
        argv.append(f"--CourseDirectory.db_url={db_url}")
    app = GenerateAssignmentApp()
    app.initialize(argv)
    app.start()


def normalise(folder: Path) -> None:
    """Reduce the release notebooks of `folder` to what does not vary with the Jupyter front end."""
    for path in sorted(folder.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        kernelspec = nb.metadata.get("kernelspec")
        language = nb.metadata.get("language_info", {}).get("name", "python")
        edition = nb.metadata.get("softmax_course")
        nb.metadata = nbformat.NotebookNode({"language_info": {"name": language}})
        if edition:
            nb.metadata["softmax_course"] = edition
        nb.metadata["softmax_release"] = {
            "generated_by": "scripts/release.sh (nbgrader generate_assignment)",
            "generated_from": f"source/{path.parent.name}/{path.name}",
        }
        if kernelspec:
            nb.metadata["kernelspec"] = kernelspec
        for cell in nb.cells:
            if "id" not in cell:
                sys.exit(
                    f"{path}: a cell has no id; save source/ with nbformat >= 4.5 (Jupyter does)"
                )
            cell.metadata = nbformat.NotebookNode(
                {k: v for k, v in cell.metadata.items() if k in KEEP_CELL_METADATA}
            )
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
        nbformat.validate(nb)
        nbformat.write(nb, path)


def main(argv: list[str]) -> int:
    record = bool(argv) and argv[0] == "--gradebook"
    assignments = argv[1:] if record else argv
    with tempfile.TemporaryDirectory(prefix="softmax-release-") as work:
        for assignment in assignments:
            generate(assignment, None if record else f"sqlite:///{work}/gradebook.db")
            normalise(Path("release") / assignment)
            print(f"release.sh: regenerated {Path.cwd() / 'release' / assignment}", file=sys.stderr)
            if record:
                print(f"release.sh: recorded {assignment} in the course gradebook", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
